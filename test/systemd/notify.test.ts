// What clusterd tells systemd, and when, against fake supervisor events, fake pings and fake time.
import { describe, expect, it } from 'vitest';
import {
  type NotifyEffects,
  SystemdNotifier,
  takeNotifyEnv,
  type WatchedApp,
} from '../../src/systemd/notify.js';

// A ping that answers when the test says so.
function app(name: string) {
  let answer: (() => void) | null = null;
  const pings: number[] = [];
  const watched: WatchedApp & { answer(): void; pings: number[] } = {
    name,
    pings,
    ping: () => {
      pings.push(pings.length + 1);
      return new Promise<void>((resolve) => {
        answer = resolve;
      });
    },
    answer: () => {
      answer?.();
      answer = null;
    },
  };
  return watched;
}

function setup(watchdogUsec: number | null = null, apps: WatchedApp[] = []) {
  const sent: string[][] = [];
  const events: string[] = [];
  let tick: (() => void) | null = null;
  let usec = 1_000_000n;
  const fx: NotifyEffects = {
    transport: { send: (fields) => void sent.push([...fields]) },
    monotonicUsec: () => usec,
    every: (_ms, fn) => {
      tick = fn;
      return () => {
        tick = null;
      };
    },
    apps: () => apps,
    hung: (names) => void events.push(`hung ${names.join(',')}`),
    recovered: () => void events.push('recovered'),
  };
  const notifier = new SystemdNotifier(fx, { watchdogUsec });
  return {
    notifier,
    sent,
    events,
    tick: () => tick?.(),
    ticking: () => tick !== null,
    setUsec: (v: bigint) => {
      usec = v;
    },
    /** The first field of each message sent, in order. */
    kinds: () => sent.map((m) => m[0]),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('notify sequence', () => {
  it('READY=1, then RELOADING=1 with MONOTONIC_USEC and READY=1 around a reload, then STOPPING=1', () => {
    const t = setup();
    t.notifier.ready({ apps: ['web', 'jobs'], failed: [] });
    expect(t.sent).toEqual([['READY=1', 'STATUS=running: web, jobs']]);
    t.setUsec(123_456_789n);
    t.notifier.reloading('config');
    expect(t.sent[1]).toEqual(['RELOADING=1', 'MONOTONIC_USEC=123456789', 'STATUS=reloading the config']);
    t.notifier.reloaded();
    expect(t.sent[2]).toEqual(['READY=1', 'STATUS=running: web, jobs']);
    t.notifier.stopping();
    t.notifier.stopping();
    expect(t.kinds()).toEqual(['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
  });

  it('overlapping reloads (SIGHUP during a SIGUSR2 reload) are one RELOADING=1 ... READY=1', () => {
    const t = setup();
    t.notifier.ready({ apps: ['web'], failed: [] });
    t.notifier.reloading('apps');
    t.notifier.reloading('config');
    t.notifier.reloaded();
    expect(t.kinds()).toEqual(['READY=1', 'RELOADING=1']);
    expect(t.sent[1]?.[2]).toBe('STATUS=rolling reload of every app');
    t.notifier.reloaded();
    expect(t.kinds()).toEqual(['READY=1', 'RELOADING=1', 'READY=1']);
  });

  it('says nothing of a reload before the start is done, and READY=1 is sent once', () => {
    const t = setup();
    t.notifier.reloading('config');
    expect(t.sent).toEqual([]);
    t.notifier.reloaded();
    t.notifier.ready({ apps: ['web'], failed: [] });
    t.notifier.ready({ apps: ['web'], failed: [] });
    expect(t.kinds()).toEqual(['READY=1']);
  });

  it('a reload still running when the start is done is reported after READY=1', () => {
    const t = setup();
    t.notifier.reloading('config');
    t.notifier.ready({ apps: ['web'], failed: [] });
    expect(t.kinds()).toEqual(['READY=1', 'RELOADING=1']);
    t.notifier.reloaded();
    expect(t.kinds()).toEqual(['READY=1', 'RELOADING=1', 'READY=1']);
  });

  it('an app that failed to start: READY=1 anyway, STATUS names it and why', () => {
    const t = setup();
    t.notifier.ready({ apps: ['web', 'bad'], failed: [{ app: 'bad', reason: 'the app is errored' }] });
    expect(t.sent).toEqual([['READY=1', 'STATUS=running: web; failed to start: bad (the app is errored)']]);
  });

  it('no reload news once stopping', () => {
    const t = setup();
    t.notifier.ready({ apps: ['web'], failed: [] });
    t.notifier.stopping();
    t.notifier.reloading('apps');
    t.notifier.reloaded();
    expect(t.kinds()).toEqual(['READY=1', 'STOPPING=1']);
  });
});

describe('watchdog', () => {
  it('is off without WATCHDOG_USEC', () => {
    const t = setup(null);
    t.notifier.start();
    expect(t.ticking()).toBe(false);
    expect(t.notifier.watchdogIntervalMs).toBeNull();
  });

  it('ticks at half of WATCHDOG_USEC and sends WATCHDOG=1 once every primary answered', async () => {
    const web = app('web');
    const jobs = app('jobs');
    const t = setup(3_000_000, [web, jobs]);
    expect(t.notifier.watchdogIntervalMs).toBe(1_500);
    t.notifier.start();
    expect(web.pings).toEqual([1]);
    web.answer();
    await flush();
    expect(t.kinds()).toEqual([]);
    jobs.answer();
    await flush();
    expect(t.kinds()).toEqual(['WATCHDOG=1']);
    t.tick();
    web.answer();
    jobs.answer();
    await flush();
    expect(t.kinds()).toEqual(['WATCHDOG=1', 'WATCHDOG=1']);
    t.notifier.close();
    expect(t.ticking()).toBe(false);
  });

  it('holds WATCHDOG=1 back while a primary does not answer, says which, and resumes when it does', async () => {
    const web = app('web');
    const hung = app('hung');
    const t = setup(1_000_000, [web, hung]);
    t.notifier.start();
    web.answer();
    await flush();
    t.tick(); // hung still owes its first ping
    web.answer();
    await flush();
    t.tick();
    web.answer();
    await flush();
    expect(t.kinds()).toEqual([]);
    expect(t.events).toEqual(['hung hung']);
    // One ping outstanding per primary, not one per tick.
    expect(hung.pings).toEqual([1]);
    hung.answer();
    await flush();
    t.tick();
    web.answer();
    hung.answer();
    await flush();
    expect(t.kinds()).toEqual(['WATCHDOG=1']);
    expect(t.events).toEqual(['hung hung', 'recovered']);
  });

  it('an answer that comes after its round is over sends nothing for that round', async () => {
    const web = app('web');
    const t = setup(1_000_000, [web]);
    t.notifier.start();
    t.tick(); // round 1 did not finish: web is hung
    web.answer();
    await flush();
    expect(t.kinds()).toEqual([]);
  });

  it('with no app to ping, the root alone answers', () => {
    const t = setup(1_000_000, []);
    t.notifier.start();
    expect(t.kinds()).toEqual(['WATCHDOG=1']);
  });

  it('a ping the root refuses (primary restarting) counts as an answer: a crash is not a hang', async () => {
    const restarting: WatchedApp = { name: 'web', ping: () => Promise.resolve({ ok: false }) };
    const rejecting: WatchedApp = { name: 'odd', ping: () => Promise.reject(new Error('x')) };
    const t = setup(1_000_000, [restarting, rejecting]);
    t.notifier.start();
    await flush();
    expect(t.kinds()).toEqual(['WATCHDOG=1']);
  });
});

describe('takeNotifyEnv', () => {
  it('reads NOTIFY_SOCKET and WATCHDOG_USEC and removes them, so children do not inherit them', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '30000000', KEEP: '1' };
    expect(takeNotifyEnv(env, 42)).toEqual({ socket: '/run/n', watchdogUsec: 30_000_000 });
    expect(env).toEqual({ KEEP: '1' });
  });

  it('no NOTIFY_SOCKET: null; a watchdog for another pid or a bad value: no watchdog', () => {
    expect(takeNotifyEnv({ WATCHDOG_USEC: '5' }, 1)).toBeNull();
    const other = { NOTIFY_SOCKET: '@n', WATCHDOG_USEC: '5000000', WATCHDOG_PID: '7' };
    expect(takeNotifyEnv(other, 8)).toEqual({ socket: '@n', watchdogUsec: null });
    expect(takeNotifyEnv({ NOTIFY_SOCKET: '@n', WATCHDOG_USEC: '5000000', WATCHDOG_PID: '8' }, 8)).toEqual({
      socket: '@n',
      watchdogUsec: 5_000_000,
    });
    expect(takeNotifyEnv({ NOTIFY_SOCKET: '@n', WATCHDOG_USEC: 'soon' }, 8)?.watchdogUsec).toBeNull();
    expect(takeNotifyEnv({ NOTIFY_SOCKET: '@n', WATCHDOG_USEC: '0' }, 8)?.watchdogUsec).toBeNull();
  });
});
