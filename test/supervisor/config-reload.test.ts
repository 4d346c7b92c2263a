// Live config reload with real files and processes: SIGHUP (or --watch-config) applies exactly the
// minimal change, and an invalid config changes nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort, get, getJson } from '../helpers/http.js';
import { FIXTURES, type Root, startRoot } from '../helpers/root.js';

const server = join(FIXTURES, 'http-server.cjs');
const app = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  script: server,
  instances: 1,
  ...extra,
});

// Pids of an app's live workers, replayed from the log.
function livePids(root: Root, name: string): number[] {
  const live = new Set<number>();
  for (const e of root.events) {
    if (e.app !== name || typeof e.pid !== 'number' || e.worker === undefined) continue;
    if (e.to === 'ready') live.add(e.pid);
    if (e.to === 'draining' || e.to === 'stopped' || e.to === 'crashed') live.delete(e.pid);
  }
  return [...live].sort();
}

function writeConfig(root: Root, config: object) {
  writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify(config, null, 2));
}

describe('live config reload', () => {
  it('adds, removes, scales and re-envs apps with the minimal change, on SIGHUP', async () => {
    const root = startRoot({
      apps: [
        app('scaled', { instances: 2 }),
        app('removed'),
        app('reenv', { env: { OLD: '1', KEPT: 'k' } }),
        app('same'),
      ],
    });
    await Promise.all(['scaled', 'removed', 'reenv', 'same'].map((n) => root.running(n)));
    const before = Object.fromEntries(
      ['scaled', 'removed', 'reenv', 'same'].map((n) => [n, livePids(root, n)]),
    );
    const reenvAddress = await root.address('reenv');
    const mark = root.events.length;

    writeConfig(root, {
      apps: [
        app('scaled', { instances: 3 }),
        app('reenv', { env: { KEPT: 'k', NEW: '2' } }),
        app('same'),
        app('added'),
      ],
    });
    root.signal('SIGHUP');
    const reloaded = await root.waitFor(
      (e) => String(e.msg).startsWith('config reloaded'),
      'the config reload',
      { from: mark },
    );
    expect(reloaded.changes).toEqual(['-removed', 'scaled 2->3 workers', 'reenv rolled (env)', '+added']);
    await Promise.all([
      root.waitFor((e) => e.app === 'scaled' && e.to === 3, 'scaled', { from: mark }),
      root.waitFor((e) => e.app === 'reenv' && e.reload === 'done', 'reenv rolled', { from: mark }),
      root.waitFor(
        (e) => e.app === 'removed' && e.to === 'stopped' && e.worker === undefined,
        'removed stopped',
        { from: mark },
      ),
      root.running('added', mark),
    ]);
    await root.waitFor(() => livePids(root, 'scaled').length === 3, 'the third worker');

    // scaled: the two old workers untouched, one new.
    const scaled = livePids(root, 'scaled');
    expect(scaled).toEqual(expect.arrayContaining(before.scaled as number[]));
    // removed: gone; same: untouched; reenv: new workers with the new env only.
    expect(livePids(root, 'removed')).toEqual([]);
    expect(livePids(root, 'same')).toEqual(before.same);
    expect(livePids(root, 'reenv')).not.toEqual(before.reenv);
    const env = await getJson<Record<string, string>>(reenvAddress, '/env');
    expect(env).toMatchObject({ KEPT: 'k', NEW: '2' });
    expect(env).not.toHaveProperty('OLD');
    expect((await get(await root.address('added'))).status).toBe(200);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('keeps everything running on the old config when the new one is invalid, and says why', async () => {
    const root = startRoot({ apps: [app('web', { instances: 2 })] });
    await root.running('web');
    const before = livePids(root, 'web');
    const mark = root.events.length;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      '{"apps": [{"name": "web", "script": "x.js", "instanses": 3}]}',
    );
    root.signal('SIGHUP');
    const failed = await root.waitFor(
      (e) => String(e.msg).startsWith('config reload failed'),
      'the failure',
      { from: mark },
    );
    expect(failed.level).toBe(50);
    expect(failed.msg).toMatch(
      /cluster\.config\.json:1:\d+ \/apps\/0\/instanses \(app "web"\): unknown key "instanses"/,
    );
    expect(failed.msg).toMatch(/CLUSTERD_ERR_CONFIG_SCRIPT_NOT_FOUND/);
    expect(livePids(root, 'web')).toEqual(before);
    expect((await get(await root.address('web'))).status).toBe(200);
    // Fixed, it applies.
    writeConfig(root, { apps: [app('web', { instances: 3 })] });
    root.signal('SIGHUP');
    await root.waitFor((e) => e.app === 'web' && e.to === 3, 'scaled to 3', { from: mark });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it("keeps a runtime `clusterd scale` through config reloads, until the file changes that app's instances", async () => {
    const root = startRoot({ apps: [app('web', { instances: 1, env: { V: '1' } })] });
    await root.running('web');
    const scaled = await runCli(['scale', 'web', '3'], { cwd: root.dir, env: root.env });
    expect(scaled.stdout).toBe('web: 1 -> 3 workers\n');
    await root.waitFor(() => livePids(root, 'web').length === 3, 'three workers');
    // Another key of the app changes: its workers roll, and there are still three of them.
    writeConfig(root, { apps: [app('web', { instances: 1, env: { V: '2' } })] });
    root.signal('SIGHUP');
    const rolled = await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the roll');
    expect(rolled.replaced).toBe(3);
    const status = async () =>
      JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout).apps[0];
    expect(await status()).toMatchObject({ instances: 3 });
    expect(livePids(root, 'web')).toHaveLength(3);
    // The file changes instances: it wins.
    writeConfig(root, { apps: [app('web', { instances: 2, env: { V: '2' } })] });
    root.signal('SIGHUP');
    await root.waitFor((e) => e.app === 'web' && e.from === 3 && e.to === 2, 'scaled to 2');
    await root.waitFor(() => livePids(root, 'web').length === 2, 'two workers');
    expect(await status()).toMatchObject({ instances: 2 });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('re-reads the config when the file changes, with --watch-config', async () => {
    const root = startRoot({ apps: [app('web')] }, { args: ['--watch-config'] });
    await root.running('web');
    writeConfig(root, { apps: [app('web', { instances: 2 })] });
    await root.waitFor((e) => e.app === 'web' && e.to === 2, 'scaled to 2');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});

describe('live config reload across balancings', () => {
  it('round-robin -> sticky: the app is restarted on the new balancing (a rolling reload cannot), and says so', async () => {
    // A fixed port: the restarted app must listen where the old one did.
    const port = await freePort();
    const root = startRoot({ apps: [app('web', { instances: 2, env: { PORT: port } })] });
    await root.running('web');
    const before = livePids(root, 'web');
    const mark = root.events.length;
    writeConfig(root, { apps: [app('web', { instances: 2, balancing: 'sticky', env: { PORT: port } })] });
    root.signal('SIGHUP');
    const warned = await root.waitFor(
      (e) => e.app === 'web' && String(e.msg).includes('is restarted, not reloaded'),
      'the warning',
      { from: mark },
    );
    expect(warned.msg).toContain('balancing round-robin -> sticky');
    await root.running('web', mark);
    const after = livePids(root, 'web');
    expect(after).toHaveLength(2);
    expect(after.some((pid) => before.includes(pid))).toBe(false);
    // Served by the new workers, through clusterd's primary (no failed reload, no EADDRINUSE).
    expect((await get(`127.0.0.1:${port}`)).status).toBe(200);
    expect(root.events.slice(mark).filter((e) => e.reload === 'failed')).toEqual([]);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    expect(status.apps[0].state).toBe('running');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);
});
