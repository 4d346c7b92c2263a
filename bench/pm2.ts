// PM2, installed on demand into .bench/pm2 (ignored by git; never a dependency), with its own PM2_HOME.
import { execFileSync } from 'node:child_process';
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
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    execFileSync(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env, PM2_HOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return {
    home,
    run,
    version: () => run(['--version']).trim().split('\n').at(-1) ?? '?',
    kill: () => {
      try {
        run(['kill']);
      } catch {}
    },
  };
}
