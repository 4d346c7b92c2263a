// The coordination between root, primary and workers under faults, with real processes: a primary
// killed while a command waits on it, commands bounded by --timeout, a fork the kernel refuses (E2BIG),
// and a restart that waits until the app serves again.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort, get, getJson } from '../helpers/http.js';
import { FIXTURES, fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });
const reloadEvent = (phase: string) => (e: LogEvent) => e.app === 'web' && e.reload === phase;

// A 2-worker app whose workers say they are ready `READY_AFTER_FILE` ms after they start.
function slowlyReady(root: Root, ms: number) {
  writeFileSync(join(root.dir, 'delay'), String(ms));
}
const slowApp = (extra: Record<string, unknown> = {}) =>
  fixtureApp('web', 'slow-ready.cjs', {
    instances: 2,
    readiness: 'message',
    env: { READY_AFTER_FILE: 'delay' },
    cwd: '.',
    ...extra,
  });

// Environments that are each allowed, and together pass the kernel's 2 MiB for one exec: the
// supervisor's own (1.5 MB, as in some CI systems) and an app's (720 KB, within its 1 MiB bound).
function tooBigTogether() {
  const supervisor: Record<string, string> = {};
  for (let i = 0; i < 12; i++) supervisor[`CLUSTERD_TEST_BIG_${i}`] = 'x'.repeat(125_000);
  const app: Record<string, string> = {};
  for (let i = 0; i < 24; i++) app[`APP_BIG_${i}`] = 'y'.repeat(30_000);
  return { supervisor, app };
}

describe('coordination under faults', () => {
  it('answers `clusterd reload` with the reason, at once, when the primary is killed during it; the app serves again', async () => {
    const port = await freePort();
    const root = startRoot(
      { apps: [slowApp({ env: { READY_AFTER_FILE: 'delay', PORT: String(port) } })] },
      { files: { delay: '0' } },
    );
    await root.running('web');
    // The new workers take 2 s to get ready: the reload is under way when its primary dies.
    slowlyReady(root, 2_000);
    const mark = root.events.length;
    const reload = cli(root, ['reload']);
    await root.waitFor((e) => e.app === 'web' && e.msg === 'ready in 2000 ms', 'a successor', { from: mark });
    const primary = root.events.find((e) => typeof e.primary === 'number')?.primary as number;
    slowlyReady(root, 0);
    const killedAt = Date.now();
    process.kill(primary, 'SIGKILL');
    const result = await reload;
    const took = Date.now() - killedAt;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /^clusterd: web: reload failed: the primary exited \(killed by SIGKILL\) before the reload was done; it restarts in \d+ ms with the code on disk\n$/,
    );
    // Answered when the primary died, not at a timeout: the CLI process itself takes ~0.2 s to exit.
    expect(took).toBeLessThan(2_000);
    await root.running('web', mark);
    expect((await get(`127.0.0.1:${port}`)).status).toBe(200);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('bounds a reload with --timeout: non-zero with the reason, and the reload goes on', async () => {
    const root = startRoot({ apps: [slowApp({ instances: 1 })] }, { files: { delay: '0' } });
    await root.running('web');
    // The new worker gets ready 5 s after it starts: a CLI that did not honour --timeout would answer
    // then, at 5 s or more. One that does answers at 300 ms plus its own start (~0.2 s, up to ~1 s on a
    // loaded machine). The bound sits half-way, at 2.5 s.
    slowlyReady(root, 5_000);
    const started = Date.now();
    const result = await cli(root, ['reload', '--timeout', '300ms']);
    expect(result.code).toBe(75);
    expect(result.stderr).toBe(
      'clusterd: reload did not finish within 300ms; it goes on in the background (see clusterd status), or pass a longer --timeout\n',
    );
    expect(Date.now() - started).toBeLessThan(2_500);
    const done = await root.waitFor(reloadEvent('done'), 'the reload to end');
    expect(done.replaced).toBe(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('refuses --timeout without a unit or on a command that does not wait', async () => {
    const bare = await runCli(['reload', '--timeout', '30']);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toMatch(/--timeout must be a duration such as 30s, 2m or 500ms, got "30"/);
    const status = await runCli(['status', '--timeout', '3s']);
    expect(status.code).toBe(64);
    expect(status.stderr).toMatch(
      /--timeout applies to reload, restart, scale, stop, start, up, not to status/,
    );
  });

  it('takes a worker fork the kernel refuses (E2BIG) for a failed start of that slot; the primary and the other app live on', async () => {
    // Together they pass the kernel's limit, so cluster.fork throws.
    const big = tooBigTogether();
    const root = startRoot(
      {
        apps: [
          fixtureApp('big', 'http-server.cjs', {
            instances: 1,
            env: big.app,
            restart: { backoff: { initial: '20ms', factor: 1, max: '20ms' }, maxRestarts: 2 },
          }),
          fixtureApp('small', 'http-server.cjs', { instances: 1 }),
        ],
      },
      { env: big.supervisor },
    );
    await root.running('small');
    const errored = await root.waitFor((e) => e.app === 'big' && e.to === 'errored', 'big errored');
    expect(errored.reason).toBe(
      'could not start: spawn E2BIG; 3 failed starts in a row (restart.maxRestarts 2)',
    );
    const crashes = root.events.filter((e) => e.app === 'big' && e.to === 'crashed');
    expect(crashes).toHaveLength(3);
    for (const crash of crashes)
      expect(crash).toMatchObject({ pid: null, reason: 'could not start: spawn E2BIG' });
    // The fork failed inside the primary, which handled it: it never died.
    expect(root.events.some((e) => String(e.msg).startsWith('primary exited unexpectedly'))).toBe(false);
    expect((await get(await root.address('small'))).status).toBe(200);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('fails a reload whose new workers the kernel refuses to start, and keeps the old ones serving', async () => {
    const big = tooBigTogether();
    const root = startRoot(
      { apps: [fixtureApp('web', 'http-server.cjs', { instances: 1 })] },
      { env: big.supervisor },
    );
    await root.running('web');
    const address = await root.address('web');
    const before = (await getJson<{ pid: number }>(address)).pid;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({ apps: [fixtureApp('web', 'http-server.cjs', { instances: 1, env: big.app })] }),
    );
    root.signal('SIGHUP');
    const failed = await root.waitFor(reloadEvent('failed'), 'the reload to fail');
    expect(failed.reason).toBe('worker 0 did not get ready: could not start: spawn E2BIG');
    expect((await getJson<{ pid: number }>(address)).pid).toBe(before);
    expect(root.events.some((e) => e.app === 'web' && e.to === 'draining')).toBe(false);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('restarts an app and waits until it serves again, or fails with why it did not', async () => {
    const root = startRoot(
      {
        apps: [
          {
            name: 'web',
            script: 'app.cjs',
            instances: 1,
            restart: { backoff: { initial: '20ms', factor: 1, max: '20ms' }, maxRestarts: 1 },
          },
        ],
      },
      {
        files: {
          'app.cjs': "require('node:http').createServer((_q, s) => s.end('v1')).listen(0, '127.0.0.1');",
        },
      },
    );
    await root.running('web');
    const ok = await cli(root, ['restart', 'web']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('restarted: web\n');
    // By the time it answered, the app served again.
    const status = JSON.parse((await cli(root, ['status', '--json'])).stdout);
    expect(status.apps[0]).toMatchObject({ state: 'running', workers: [{ state: 'ready' }] });
    // A broken build deployed, then a restart: it says so, and why.
    copyFileSync(join(FIXTURES, 'crash-at-boot.cjs'), join(root.dir, 'app.cjs'));
    const broken = await cli(root, ['restart', 'web']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /^clusterd: web: restart failed: the app is errored: exit code 1: Error: boom at boot/,
    );
    // Nothing is left running: the supervisor ends with the errored app.
    expect(await root.waitForExit()).toEqual({ code: 3, signal: null });
  });
});
