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

/**
 * A subcommand whose implementation has not landed yet. It says so and fails, so that nothing
 * pretends to work.
 */
export function notBuiltYet(name: string, summary: string, issue: number): Command {
  return {
    name,
    summary: `${summary} (not built yet)`,
    async run() {
      process.stderr.write(`tessera ${name}: not built yet (tracked in issue #${issue})\n`);
      return 3;
    },
  };
}
