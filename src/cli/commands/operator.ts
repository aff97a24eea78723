import { Operator } from '../../operator/operator.js';
import { OPERATOR_USAGE, OptionsError, parseOperatorOptions } from '../../operator/options.js';
import { log } from '../../shared/log.js';
import { type Command, UsageError } from '../command.js';

/** `tessera operator`: runs the DiTInference controller until SIGTERM/SIGINT or a lost leader lease. */
export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the DiTInference operator',
  async run(argv) {
    if (argv.includes('-h') || argv.includes('--help')) {
      process.stdout.write(`${OPERATOR_USAGE}\n`);
      return 0;
    }
    let options: ReturnType<typeof parseOperatorOptions>;
    try {
      options = parseOperatorOptions(argv, process.env);
    } catch (err) {
      if (err instanceof OptionsError) throw new UsageError(err.message);
      throw err;
    }
    const logger = log.child({ component: 'operator' });
    const operator = new Operator(options, logger);
    const signalled = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const lost = operator.whenLeadershipLost().then(() => 'lost' as const);
    try {
      await operator.start();
    } catch (err) {
      logger.error({ err }, 'Operator failed to start');
      await operator.stop().catch(() => undefined);
      return 1;
    }
    const why = await Promise.race([signalled, lost]);
    logger.info({ why }, 'Shutting down');
    await operator.stop();
    return why === 'lost' ? 1 : 0;
  },
};
