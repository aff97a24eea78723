import { type Logger, pino } from 'pino';

/**
 * The one root logger. Components take a child with their own context (`log.child({ component })`) so
 * every line says where it came from; the level comes from TESSERA_LOG_LEVEL.
 */
export const log: Logger = pino({
  level: process.env.TESSERA_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
});

export type { Logger };
