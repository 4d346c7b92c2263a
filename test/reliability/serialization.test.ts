// Operations that overlap: each waits for the one before it, in a fixed and documented order
// (docs/reliability.md). Stop during start, reload during reload, scale during reload, SIGHUP during
// reload: the events show the order, the workers show the outcome.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort, getJson } from '../helpers/http.js';
import { fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const slowApp = (extra: Record<string, unknown> = {}) =>
  fixtureApp('web', 'slow-ready.cjs', {
    instances: 2,
    readiness: 'message',
    env: { READY_AFTER_MS: '400' },
    ...extra,
  });

const at = (root: Root, predicate: (e: LogEvent) => boolean, from = 0) =>
  root.events.findIndex((e, i) => i >= from && predicate(e));
const reloadPhase = (phase: string) => (e: LogEvent) => e.app === 'web' && e.reload === phase;

function livePids(root: Root): number[] {
  const live = new Set<number>();
  for (const e of root.events) {
    if (e.app !== 'web' || typeof e.pid !== 'number' || e.worker === undefined) continue;
    if (e.to === 'ready') live.add(e.pid);
    if (e.to === 'draining' || e.to === 'stopped' || e.to === 'crashed') live.delete(e.pid);
  }
  return [...live].sort();
}

describe('overlapping operations', () => {
  it('stops at once during start: workers still booting, or waiting for a restart', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('booting', 'never-listens.cjs', { instances: 2, readyTimeout: '60s' }),
        fixtureApp('waiting', 'crash-at-boot.cjs', {
          instances: 1,
          restart: { backoff: { initial: '60s', factor: 1, max: '60s' } },
        }),
      ],
    });
    await root.waitForCount((e) => e.app === 'booting' && e.to === 'starting', 2, 'workers booting');
    await root.waitFor((e) => e.app === 'waiting' && typeof e.delay === 'number', 'a restart waiting');
    const stopAt = Date.now();
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(
      root.events.filter((e) => e.app === 'booting' && e.to === 'stopped' && e.worker !== undefined),
    ).toHaveLength(2);
    expect(root.events.some((e) => e.app === 'waiting' && e.to === 'starting' && e.time > stopAt)).toBe(
      false,
    );
  });

  it('queues a reload asked for during a reload, once: two reloads in a row, never overlapping', async () => {
    const root = startRoot({ apps: [slowApp()] });
    await root.running('web');
    const first = livePids(root);
    root.signal('SIGUSR2');
    await root.waitFor(reloadPhase('started'), 'the first reload');
    root.signal('SIGUSR2');
    root.signal('SIGUSR2');
    await root.waitForCount(reloadPhase('done'), 2, 'two reloads', 30_000);
    const starts = root.events.filter(reloadPhase('started'));
    const dones = root.events.filter(reloadPhase('done'));
    expect(starts).toHaveLength(2);
    expect(at(root, reloadPhase('started'), root.events.indexOf(dones[0] as LogEvent))).toBe(
      root.events.indexOf(starts[1] as LogEvent),
    );
    expect(dones.map((d) => d.replaced)).toEqual([2, 2]);
    // Two generations replaced: no worker of the first or second generation is left.
    const third = livePids(root);
    expect(third).toHaveLength(2);
    expect(third.some((pid) => first.includes(pid))).toBe(false);
    expect(
      root.events.filter((e) => e.app === 'web' && e.to === 'ready' && e.worker !== undefined),
    ).toHaveLength(6);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('scales after the reloads in progress or queued, never in the middle of one', async () => {
    const root = startRoot({ apps: [slowApp()] });
    await root.running('web');
    root.signal('SIGUSR2');
    await root.waitFor(reloadPhase('started'), 'the reload');
    root.signal('SIGUSR2');
    const scaled = await runCli(['scale', 'web', '3'], { cwd: root.dir, env: root.env });
    expect(scaled.code, scaled.stderr).toBe(0);
    const dones = await root.waitForCount(reloadPhase('done'), 2, 'both reloads', 30_000);
    const scaledAt = at(root, (e) => e.app === 'web' && e.to === 3 && e.from === 2);
    expect(scaledAt).toBeGreaterThan(root.events.indexOf(dones[1] as LogEvent));
    // The new slot started after both reloads, on the reloaded settings.
    const newSlot = at(root, (e) => e.app === 'web' && e.worker === 2 && e.to === 'starting');
    expect(newSlot).toBeGreaterThan(root.events.indexOf(dones[1] as LogEvent));
    await root.waitFor(() => livePids(root).length === 3, 'three workers');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('applies a config reload (SIGHUP) asked for during a reload after it: roll onto the new env, then scale', async () => {
    const port = String(await freePort());
    const root = startRoot({ apps: [slowApp({ env: { READY_AFTER_MS: '400', VERSION: '1', PORT: port } })] });
    await root.running('web');
    root.signal('SIGUSR2');
    await root.waitFor(reloadPhase('started'), 'the reload');
    const config = {
      apps: [slowApp({ instances: 3, env: { READY_AFTER_MS: '400', VERSION: '2', PORT: port } })],
    };
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify(config));
    root.signal('SIGHUP');
    const dones = await root.waitForCount(reloadPhase('done'), 2, 'both reloads', 30_000);
    await root.waitFor((e) => e.app === 'web' && e.to === 3, 'scaled to 3');
    await root.waitFor(() => livePids(root).length === 3, 'three workers');
    expect(at(root, reloadPhase('started'), root.events.indexOf(dones[0] as LogEvent))).toBeGreaterThan(0);
    expect(at(root, (e) => e.app === 'web' && e.to === 3)).toBeGreaterThan(
      root.events.indexOf(dones[1] as LogEvent),
    );
    // Every worker now runs with the new env: ask each of them.
    const address = `127.0.0.1:${port}`;
    const seen = new Map<number, string | undefined>();
    for (let i = 0; i < 60 && seen.size < 3; i++) {
      const answer = await getJson<{ pid: number; env: Record<string, string> }>(address);
      seen.set(answer.pid, answer.env.VERSION);
    }
    expect([...seen.keys()].sort()).toEqual(livePids(root));
    expect([...seen.values()]).toEqual(['2', '2', '2']);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
