// `clusterd monit`'s code and its library (string-width) load for `monit` only: `status` and the
// supervisor itself do not load them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCommand } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { FIXTURES, fixtureApp, startRoot } from '../helpers/root.js';

const HOOK = join(FIXTURES, 'hooks/record-modules.mjs');

async function loaded(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const file = join(tempDir(), 'modules.txt');
  const run = await runCommand(process.execPath, ['--import', HOOK, BIN, ...args], {
    cwd,
    env: { ...env, RECORD_MODULES: file },
  });
  expect(run.code).toBe(0);
  return readFileSync(file, 'utf8').split('\n');
}

// The built CLI is bundled (scripts/bundle.ts): monit's code is its own chunk, dist/chunks/cli-monit-*.js.
const MONIT = /\/dist\/chunks\/cli-monit-[\w-]+\.js$/;
const monitCode = (urls: string[]) => urls.filter((u) => MONIT.test(u) || /\/string-width\//.test(u));

describe('monit loads lazily', () => {
  it('is not loaded by status, and is by monit', async () => {
    const root = startRoot({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] });
    await root.running('web');
    expect(monitCode(await loaded(['status'], root.dir, root.env))).toEqual([]);
    const monit = monitCode(await loaded(['monit'], root.dir, root.env));
    expect(monit.some((u) => MONIT.test(u))).toBe(true);
    expect(monit.some((u) => u.includes('/string-width/'))).toBe(true);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
