/** One `tessera` subcommand. `run` returns the process exit code; it throws only for bugs. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /**
   * Its stdout is a log machines read (a container's, or a local rank's file), so the root logger writes
   * its JSON lines there. Unset: a person reads stdout, and main sends the JSON lines away (logForPerson).
   */
  readonly stdoutIsLog?: true;
  run(argv: readonly string[]): Promise<number>;
}

/** Raised for bad command-line input; main prints the message (no stack) and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
