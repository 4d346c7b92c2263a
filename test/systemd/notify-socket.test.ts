// clusterd as systemd sees it: a real `clusterd start` with NOTIFY_SOCKET pointing at a real AF_UNIX
// datagram socket, and what arrives there around its start, reloads, stop and a hung primary.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ask, socketOf } from '../helpers/control.js';
import { getJson } from '../helpers/http.js';
import { NotifyListener, requireTool } from '../helpers/notify-socket.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

const fastCrashLoop = { backoff: { initial: '50ms', factor: 2, max: '200ms' }, maxRestarts: 1 };

function field(fields: string[], key: string): string | undefined {
  return fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
}

type AppStatus = { name: string; primary: number | null; workers: { pid: number | null; state: string }[] };

async function appStatus(root: Root, app: string): Promise<AppStatus | undefined> {
  const answer = await ask(socketOf(root), { id: 1, cmd: 'status' }).answer;
  return ((answer.result ?? { apps: [] }) as { apps: AppStatus[] }).apps.find((a) => a.name === app);
}

async function primaryPid(root: Root, app: string): Promise<number> {
  const pid = (await appStatus(root, app))?.primary;
  if (typeof pid !== 'number') throw new Error(`no primary pid for ${app}`);
  return pid;
}

describe('systemd notify over a real datagram socket', () => {
  it('READY=1 once every app runs; RELOADING=1 (MONOTONIC_USEC) then READY=1 around SIGHUP and SIGUSR2; STOPPING=1 on SIGTERM', async () => {
    requireTool('systemd-notify');
    const notify = await NotifyListener.start();
    const root = startRoot(
      {
        apps: [
          fixtureApp('web', 'http-server.cjs', { instances: 2 }),
          fixtureApp('jobs', 'http-server.cjs', { instances: 1 }),
        ],
      },
      { env: { NOTIFY_SOCKET: notify.path } },
    );
    const ready = await notify.waitFor('READY=1');
    // Both apps were running before READY=1 was sent (their log lines may trail the datagram a little).
    await Promise.all([root.running('web'), root.running('jobs')]);
    expect(field(ready.fields, 'STATUS')).toBe('running: web, jobs');
    expect(notify.notifications.map((m) => m.fields[0])).toEqual(['READY=1']);

    // The apps' workers do not inherit NOTIFY_SOCKET: only the root speaks for the service.
    const env = await getJson<Record<string, string>>(await root.address('web'), '/env');
    expect(env.NOTIFY_SOCKET).toBeUndefined();
    expect(env.CLUSTERD_APP).toBe('web');

    // A config change that rolls web: READY=1 comes once its new workers serve.
    const before = (await appStatus(root, 'web'))?.workers.map((w) => w.pid) ?? [];
    expect(before).toHaveLength(2);
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({
        apps: [
          fixtureApp('web', 'http-server.cjs', { instances: 2, env: { CHANGED: '1' } }),
          fixtureApp('jobs', 'http-server.cjs', { instances: 1 }),
        ],
      }),
    );
    root.signal('SIGHUP');
    const reloading = await notify.waitFor('RELOADING=1');
    const usec = Number(field(reloading.fields, 'MONOTONIC_USEC'));
    // CLOCK_MONOTONIC, the listener's clock: sent a moment before it was read.
    expect(usec).toBeLessThanOrEqual(reloading.monotonicUsec);
    expect(reloading.monotonicUsec - usec).toBeLessThan(5_000_000);
    await notify.waitFor('READY=1', { from: notify.notifications.indexOf(reloading) });
    // The new workers serve; an old one may still be draining its last requests (it gets no new ones).
    const rolled = ((await appStatus(root, 'web'))?.workers ?? []).filter((w) => w.state === 'ready');
    expect(rolled).toHaveLength(2);
    for (const worker of rolled) expect(before).not.toContain(worker.pid);
    await root.waitFor((e) => String(e.msg).startsWith('config reloaded'), 'config reloaded');

    const mark = notify.notifications.length;
    root.signal('SIGUSR2');
    const rolling = await notify.waitFor('RELOADING=1', { from: mark });
    expect(field(rolling.fields, 'STATUS')).toBe('rolling reload of every app');
    expect(field(rolling.fields, 'MONOTONIC_USEC')).toMatch(/^\d+$/);
    const back = await notify.waitFor('READY=1', { from: mark });
    // Every worker was replaced before READY=1: two new ready web workers and one jobs worker.
    const readyAfter = root.events.filter((e) => e.to === 'ready' && e.worker !== undefined);
    expect(readyAfter.length).toBeGreaterThanOrEqual(3 + 2 + 3);
    expect(notify.notifications.indexOf(back)).toBeGreaterThan(notify.notifications.indexOf(rolling));

    root.signal('SIGTERM');
    await notify.waitFor('STOPPING=1');
    expect((await root.waitForExit()).code).toBe(0);
    expect(notify.notifications.map((m) => m.fields[0])).toEqual([
      'READY=1',
      'RELOADING=1',
      'READY=1',
      'RELOADING=1',
      'READY=1',
      'STOPPING=1',
    ]);
  });

  it('an app that errors at start: READY=1 all the same, STATUS says which and why', async () => {
    requireTool('systemd-notify');
    const notify = await NotifyListener.start();
    const root = startRoot(
      {
        apps: [
          fixtureApp('web', 'http-server.cjs', { instances: 1 }),
          fixtureApp('boom', 'crash-at-boot.cjs', { instances: 1, restart: fastCrashLoop }),
        ],
      },
      { env: { NOTIFY_SOCKET: notify.path } },
    );
    const ready = await notify.waitFor('READY=1');
    expect(field(ready.fields, 'STATUS')).toMatch(/^running: web; failed to start: boom \(.*errored.*\)$/);
    await root.waitFor((e) => e.app === 'boom' && e.to === 'errored', 'boom errored');
    root.signal('SIGTERM');
    await notify.waitFor('STOPPING=1');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('WATCHDOG=1 every WATCHDOG_USEC/2 while every primary answers, none while one is SIGSTOPped', async () => {
    requireTool('systemd-notify');
    const notify = await NotifyListener.start();
    const root = startRoot(
      {
        apps: [
          fixtureApp('web', 'http-server.cjs', { instances: 1 }),
          fixtureApp('jobs', 'http-server.cjs', { instances: 1 }),
        ],
      },
      { env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '1000000' } },
    );
    await notify.waitFor('READY=1');
    // Ticks every 500 ms: three pings in a row, each within WATCHDOG_USEC of the one before.
    const first = notify.count('WATCHDOG=1');
    const pings: number[] = [];
    for (let n = 1; n <= 3; n++)
      pings.push((await notify.waitForCount('WATCHDOG=1', first + n)).monotonicUsec);
    const gaps = pings.slice(1).map((t, i) => t - (pings[i] ?? 0));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(250_000);
      expect(gap).toBeLessThan(1_000_000);
    }

    const pid = await primaryPid(root, 'jobs');
    process.kill(pid, 'SIGSTOP');
    try {
      await root.waitFor(
        (e) => String(e.msg).startsWith('systemd watchdog: the primary of jobs did not answer'),
        'the watchdog to find jobs hung',
      );
      // A ping already on its way may still land (at most one); after it, none for twice WATCHDOG_USEC.
      const held = notify.count('WATCHDOG=1');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(notify.count('WATCHDOG=1') - held).toBeLessThanOrEqual(1);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumed = notify.count('WATCHDOG=1');
    await root.waitFor((e) => e.msg === 'systemd watchdog: every primary answers again', 'recovery');
    await notify.waitForCount('WATCHDOG=1', resumed + 2);

    root.signal('SIGTERM');
    await notify.waitFor('STOPPING=1');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('without WATCHDOG_USEC, no WATCHDOG=1 is sent', async () => {
    requireTool('systemd-notify');
    const notify = await NotifyListener.start();
    const root = startRoot(
      { apps: [fixtureApp('jobs', 'http-server.cjs', { instances: 1 })] },
      { env: { NOTIFY_SOCKET: notify.path } },
    );
    await notify.waitFor('READY=1');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    root.signal('SIGTERM');
    await notify.waitFor('STOPPING=1');
    expect((await root.waitForExit()).code).toBe(0);
    expect(notify.count('WATCHDOG=1')).toBe(0);
  });
});
