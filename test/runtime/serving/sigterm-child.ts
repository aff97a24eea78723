/**
 * A leader process for the SIGTERM test: `node --import tsx sigterm-child.ts <runMs>`. Serves on an
 * ephemeral port (printed as one JSON line), each run takes <runMs>, and SIGTERM drains it.
 */
import { pino } from 'pino';
import {
  type GenerationRequest,
  GenerationServer,
  readServingConfig,
  shutdownOnSigterm,
} from '../../../src/runtime/serving/index.js';
import { SteppedExecutor, tinyLimits } from './harness.js';

const runMs = Number(process.argv[2] ?? '400');
const logger = pino({ level: 'silent' });
const config = readServingConfig(process.env);
const server = new GenerationServer({
  executor: {
    maxBatch: 1,
    async run(batch: readonly GenerationRequest[]) {
      await new Promise((resolve) => setTimeout(resolve, runMs));
      return SteppedExecutor.doubled(batch);
    },
  },
  limits: tinyLimits('flux', 1),
  queueSize: config.queueSize,
  authToken: config.authToken,
  logger,
});
const { port } = await server.listen(0, '127.0.0.1');
server.markStarted();
shutdownOnSigterm(server, logger, () => process.exit(0));
process.stdout.write(`${JSON.stringify({ port })}\n`);
