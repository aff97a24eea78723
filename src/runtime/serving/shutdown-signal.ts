/** SIGTERM (kubelet's stop) → graceful shutdown, once; returns a function that removes the handler. */
import type { Logger } from '../../shared/log.js';

export interface Drainable {
  shutdown(): Promise<void>;
}

export function shutdownOnSigterm(target: Drainable, logger: Logger, onClosed: () => void): () => void {
  const handler = (): void => {
    logger.info('SIGTERM: draining');
    target.shutdown().then(onClosed, (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      onClosed();
    });
  };
  process.once('SIGTERM', handler);
  return () => process.off('SIGTERM', handler);
}
