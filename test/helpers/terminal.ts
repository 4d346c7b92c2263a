// Runs the real clusterd CLI with its stdout on a pseudo-terminal (util-linux `script`), for what the
// CLI does only when it writes to a terminal. The arguments are quoted for `script -c`'s shell.
import { BIN, type CliResult, runCommand } from './cli.js';

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** The CLI's output as the terminal got it (the pty turns "\n" into "\r\n"); `stderr` is empty. */
export function runCliOnTerminal(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return runCommand('script', ['-qec', command, '/dev/null'], options);
}
