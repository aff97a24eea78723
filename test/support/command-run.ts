/** Runs a CLI command in the test process with its stderr captured (what a person would see). */
import { vi } from 'vitest';
import type { Command } from '../../src/cli/command.js';

export async function runCommand(
  command: Command,
  argv: string[],
): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await command.run(argv), stderr };
  } finally {
    spy.mockRestore();
  }
}
