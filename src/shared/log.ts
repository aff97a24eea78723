import { type Logger, pino } from 'pino';

/**
 * The one root logger. Components take a child with their own context (`log.child({ component })`) so
 * every line says where it came from; the level comes from TESSERA_LOG_LEVEL.
 */
export const log: Logger = pino({
  level: process.env.TESSERA_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
});

/**
 * A logger like the root one that writes its JSON lines to a file instead of stdout, for runs a person
 * watches (a local group's launcher): the terminal gets one readable line, the file keeps the detail.
 */
export function fileLogger(path: string): Logger {
  return pino(
    { level: process.env.TESSERA_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: path, sync: true }),
  );
}

export type { Logger };
