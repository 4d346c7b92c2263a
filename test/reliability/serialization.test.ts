// Operations that overlap: each waits for the one before it, in a fixed and documented order
// (docs/reliability.md). Stop during start, reload during reload, scale during reload, SIGHUP during
// reload: the events show the order, the workers show the outcome.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ask, socketOf } from '../helpers/control.js';
import { freePort, getJson } from '../helpers/http.js';
import { fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const slowApp = (extra: Record<string, unknown> = {}) =>
  fixtureApp('web', 'slow-ready.cjs', {
    instances: 2,
    readiness: 'message',
    env: { READY_AFTER_MS: '400' },
    ...extra,
  });

// Proves that nothing more happens: the only kind of wait these tests make without an event.
const QUIET_MS = 500;

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

  it('queues every request made during a reload into one next reload, where the latest settings win, and answers each', async () => {
    const port = String(await freePort());
    // The first generation of successors takes 1.5 s to get ready: every request below arrives during it.
    const app = (version: string) =>
      slowApp({ instances: 1, cwd: '.', env: { READY_AFTER_FILE: 'delay', VERSION: version, PORT: port } });
    const root = startRoot({ apps: [app('1')] }, { files: { delay: '0' } });
    await root.running('web');
    const first = livePids(root);
    writeFileSync(join(root.dir, 'delay'), '1500');
    root.signal('SIGUSR2');
    await root.waitFor((e) => e.app === 'web' && e.msg === 'ready in 1500 ms', 'the first successor');
    writeFileSync(join(root.dir, 'delay'), '0');
    // Four more requests of four kinds: a control command, new settings twice (SIGHUP), SIGUSR2 again,
    // and another control command.
    const socket = socketOf(root);
    const a = ask(socket, { id: 'a', cmd: 'reload' });
    await a.accepted;
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify({ apps: [app('2')] }));
    root.signal('SIGHUP');
    await root.waitFor((e) => String(e.msg).startsWith('config reloaded: web rolled (env)'), 'config 2');
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify({ apps: [app('3')] }));
    root.signal('SIGHUP');
    await root.waitForCount(
      (e) => String(e.msg).startsWith('config reloaded: web rolled (env)'),
      2,
      'config 3',
    );
    root.signal('SIGUSR2');
    const b = ask(socket, { id: 'b', cmd: 'reload' });
    await b.accepted;
    // All of them were made while the first reload ran...
    expect(root.events.filter(reloadPhase('done'))).toHaveLength(0);
    const [answerA, answerB] = await Promise.all([a.answer, b.answer]);
    const dones = await root.waitForCount(reloadPhase('done'), 2, 'two reloads', 30_000);
    // ... and were served by exactly one more, which replaced the first one's workers.
    expect(root.events.filter(reloadPhase('started'))).toHaveLength(2);
    expect(at(root, reloadPhase('started'), root.events.indexOf(dones[0] as LogEvent))).toBe(
      root.events.findLastIndex(reloadPhase('started')),
    );
    for (const answer of [answerA, answerB])
      expect(answer).toMatchObject({ ok: true, result: [{ app: 'web', replaced: 1 }] });
    // The latest settings won: the worker now serving has VERSION 3, and it is the third generation.
    const now = livePids(root);
    expect(now).toHaveLength(1);
    expect(first).not.toContain(now[0]);
    const served = await getJson<{ pid: number; env: Record<string, string> }>(`127.0.0.1:${port}`);
    expect(served).toMatchObject({ pid: now[0], env: { VERSION: '3' } });
    await sleep(QUIET_MS);
    expect(root.events.filter(reloadPhase('started'))).toHaveLength(2);
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
