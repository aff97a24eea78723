import { KubeconfigError } from '../../operator/kube/kubeconfig.js';
import { Operator } from '../../operator/operator.js';
import { OPERATOR_USAGE, OptionsError, parseOperatorOptions } from '../../operator/options.js';
import { log } from '../../shared/log.js';
import { type Command, UsageError } from '../command.js';

/** `tessera operator`: runs the DiTInference controller until SIGTERM/SIGINT or a lost leader lease. */
export const operatorCommand: Command = {
  name: 'operator',
  stdoutIsLog: true,
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
      // One line for the person at the terminal; the stack only at debug level in the JSON log.
      logger.debug({ err }, 'Operator failed to start');
      process.stderr.write(`tessera operator: ${startFailure(err)}\n`);
      await operator.stop().catch(() => undefined);
      return 1;
    }
    const why = await Promise.race([signalled, lost]);
    logger.info({ why }, 'Shutting down');
    await operator.stop();
    return why === 'lost' ? 1 : 0;
  },
};

/** What went wrong at start, in one line: the error's message and its causes' first lines. */
function startFailure(err: unknown): string {
  if (err instanceof KubeconfigError) return err.message;
  const parts: string[] = [];
  for (
    let e: unknown = err;
    e !== undefined && parts.length < 3;
    e = e instanceof Error ? e.cause : undefined
  ) {
    const text = e instanceof Error ? e.message : String(e);
    parts.push(text.split('\n')[0] ?? text);
  }
  return `could not start: ${parts.join(': ')}`;
}
