/** One `tessera` subcommand. `run` returns the process exit code; it throws only for bugs. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  run(argv: readonly string[]): Promise<number>;
}

/** Raised for bad command-line input; main prints the message (no stack) and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
