import { type DestinationStream, type Logger, pino } from 'pino';

const WARN = 40;

/**
 * Where the root logger's lines go. By default stdout, which is the log of every process that machines
 * read: a pod's container (the operator, a rank, fetch-model) and a local rank (the launcher points its
 * stdout at rank-N.log). A process a person watches switches it with `logForPerson`. Children made before
 * the switch (module-level `log.child(...)`) follow it, since they all write through this one sink.
 */
class ProcessLogSink implements DestinationStream {
  /** pino sets `lastLevel` before each write on a stream flagged with this symbol. */
  readonly [pino.symbols.needsMetadataGsym] = true as const;
  lastLevel = 0;
  lastTime = '';
  lastMsg = '';
  lastObj: object = {};
  lastLogger: Logger | undefined;
  private all: DestinationStream = pino.destination({ dest: process.stdout.fd || 1, sync: false });
  private warnings: DestinationStream | undefined;

  forPerson(file: string | undefined): void {
    // A terminal gets warnings and errors only: a person should see those, as they come.
    this.warnings = pino.destination({ dest: 2, sync: true });
    this.all = file ? pino.destination({ dest: file, sync: true, mkdir: true }) : { write: () => undefined };
  }

  write(line: string): void {
    this.all.write(line);
    if (this.warnings && this.lastLevel >= WARN) this.warnings.write(line);
  }
}

const sink = new ProcessLogSink();

/**
 * The one root logger. Components take a child with their own context (`log.child({ component })`) so
 * every line says where it came from; the level comes from TESSERA_LOG_LEVEL.
 */
export const log: Logger = pino(
  { level: process.env.TESSERA_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  sink,
);

/** The file a person names to keep the JSON lines of a command they run (`logForPerson`). */
export const LOG_FILE_ENV = 'TESSERA_LOG_FILE';

/**
 * For a process a person runs (a CLI command, a benchmark): its stdout carries only lines for a person, so
 * the root logger's JSON lines go to `file` (TESSERA_LOG_FILE) when one is named and nowhere otherwise;
 * warnings and errors also go to stderr, so that nothing slow or wrong passes silently.
 */
export function logForPerson(file: string | undefined = process.env[LOG_FILE_ENV] || undefined): void {
  sink.forPerson(file);
}

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
