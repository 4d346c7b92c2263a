// PM2, installed on demand into .bench/pm2 (ignored by git; never a dependency), with its own PM2_HOME.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.ts';

const PREFIX = join(ROOT, '.bench', 'pm2');
const BIN = join(PREFIX, 'node_modules', 'pm2', 'bin', 'pm2');
export const PM2_VERSION = '7';

export function ensurePm2(): string {
  if (!existsSync(BIN)) {
    console.error(`installing pm2@${PM2_VERSION} into ${PREFIX} ...`);
    execFileSync(
      'npm',
      ['install', '--prefix', PREFIX, '--no-audit', '--no-fund', '--no-save', `pm2@${PM2_VERSION}`],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  }
  return BIN;
}

/** A PM2 CLI bound to a private PM2_HOME; call kill() when done. */
export function pm2() {
  const bin = ensurePm2();
  const home = mkdtempSync(join(tmpdir(), 'clusterd-bench-pm2-'));
  // Blocks this process until the command exits: for setup and teardown only, while nothing of the
  // bench's own runs (no traffic loop, no autocannon, no poll); during a load use runAsync.
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    execFileSync(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env, PM2_HOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  // The same without blocking the event loop (as bench/canary.ts runs its deploys): the bench's load
  // goes on sending requests and reading answers while PM2 works. Resolves to its stdout; rejects on a
  // non-zero exit, as run throws.
  const runAsync = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], {
        env: { ...process.env, ...env, PM2_HOME: home },
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
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`pm2 ${args.join(' ')} exited ${code ?? signal}: ${stderr}${stdout}`));
      });
    });
  return {
    home,
    run,
    runAsync,
    version: () => run(['--version']).trim().split('\n').at(-1) ?? '?',
    kill: () => {
      try {
        run(['kill']);
      } catch {}
    },
  };
}
