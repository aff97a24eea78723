import { LOG_FILE_ENV, logForPerson } from '../shared/log.js';
import { type Command, UsageError } from './command.js';
import { commands } from './commands/index.js';

function usage(all: readonly Command[]): string {
  const width = Math.max(...all.map((c) => c.name.length));
  const lines = all.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    `usage: tessera <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `A command you run prints lines for you; its JSON log goes to ${LOG_FILE_ENV} when set ` +
    '(warnings and errors also to stderr).\n'
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`tessera: unknown command '${name}'\n\n${usage(commands)}`);
    return 2;
  }
  if (!command.stdoutIsLog) logForPerson();
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tessera ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
