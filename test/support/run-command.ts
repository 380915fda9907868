import { Command } from 'commander';
import { vi } from 'vitest';

export interface CommandRun {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs CLI commands in-process: builds a `warden` program with the given
 * commands registered, captures what they write, and returns the exit code
 * they set. A thrown error (as main.ts would report it) propagates.
 */
export async function runCommand(
  register: readonly ((program: Command) => void)[],
  ...args: string[]
): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const program = new Command('warden').exitOverride();
  for (const add of register) add(program);
  try {
    await program.parseAsync(['node', 'warden', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { stdout, stderr, code };
}
