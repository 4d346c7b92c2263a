// `envFile` with real processes: a worker sees the file's variables under the app's `env`, a changed file
// applies at `clusterd reload`, a file gone since the load fails the reload (the old worker keeps
// serving), and no value from the file is ever in clusterd's own output, log or status.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { FIXTURES, startRoot } from '../helpers/root.js';

const envOf = async (address: string) =>
  JSON.parse((await get(address, '/env')).body) as Record<string, string>;

describe('envFile', () => {
  it('is read at every worker start, under env, over the inherited environment, and never printed', async () => {
    const secret = `file-secret-${randomBytes(12).toString('hex')}`;
    const changed = `file-secret-${randomBytes(12).toString('hex')}`;
    const app = {
      name: 'web',
      script: join(FIXTURES, 'http-server.cjs'),
      instances: 1,
      envFile: '.env',
      env: { OVERRIDE: 'from-config' },
    };
    const root = startRoot(
      { apps: [app] },
      {
        files: { '.env': `CLUSTERD_TEST_SECRET=${secret}\nOVERRIDE=from-file\nINHERITED=from-file\n` },
        env: { INHERITED: 'from-shell', ONLY_SHELL: 'from-shell' },
      },
    );
    const address = await root.address('web');
    expect(await envOf(address)).toMatchObject({
      CLUSTERD_TEST_SECRET: secret,
      OVERRIDE: 'from-config',
      INHERITED: 'from-file',
      ONLY_SHELL: 'from-shell',
    });

    // An edited file applies at the next reload, not by itself.
    writeFileSync(join(root.dir, '.env'), `CLUSTERD_TEST_SECRET=${changed}\n`);
    expect((await envOf(address)).CLUSTERD_TEST_SECRET).toBe(secret);
    const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 30_000 });
    expect(reload.code, reload.stderr).toBe(0);
    const after = await envOf(address);
    expect(after.CLUSTERD_TEST_SECRET).toBe(changed);
    expect(after.INHERITED).toBe('from-shell');

    // Gone since the load: the new worker's start fails with the reason, the reload rolls back, and the
    // worker that runs keeps serving with what it was started with.
    rmSync(join(root.dir, '.env'));
    const from = root.events.length;
    const failed = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 30_000 });
    expect(failed.code).not.toBe(0);
    expect(`${failed.stdout}${failed.stderr}`).toContain(`env file ${join(root.dir, '.env')} does not exist`);
    await root.waitFor(
      (e) => e.app === 'web' && String(e.reason ?? '').includes('could not start: env file'),
      'the failed start',
      { from },
    );
    expect((await envOf(address)).CLUSTERD_TEST_SECRET).toBe(changed);

    const status = await runCli(['status', '--json'], { cwd: root.dir, env: root.env });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    const printed = [
      ...root.output,
      reload.stdout,
      reload.stderr,
      failed.stdout,
      failed.stderr,
      status.stdout,
    ].join('\n');
    expect(printed).not.toContain(secret);
    expect(printed).not.toContain(changed);
  });
});
