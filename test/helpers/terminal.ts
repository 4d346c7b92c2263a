// Runs the real clusterd CLI with its stdout on a pseudo-terminal (util-linux `script`), for what the
// CLI does only when it writes to a terminal. The arguments are quoted for `script -c`'s shell.
import { spawn } from 'node:child_process';
import { BIN, type CliResult } from './cli.js';

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** The CLI's output as the terminal got it (the pty turns "\n" into "\r\n"); `stderr` is empty. */
export function runCliOnTerminal(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
