// One leader per app with a real clusterd: workers that call onLeadership write when their leadership
// starts and when their stop begins and ends (test/fixtures/leader-app.mjs). Through a rolling reload, a
// scale down to 1 and up to 3, a SIGKILLed leader and a leader whose stop hangs past shutdown.timeout:
// never two leaders (each start comes after the previous leader's stop ended, or after its exit was
// seen), a leader whenever one is ready, and hand-over gaps within the bound of docs/leader.md
// (shutdown.timeout + 1 s for the exit of a killed worker to be seen, + message delivery).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { isAlive, until } from '../helpers/processes.js';
import { fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const TIMEOUT = 1_500;
/** docs/leader.md: the revoke's wait, the time a killed worker's exit takes to be seen, delivery. */
const BOUND = TIMEOUT + 1_000 + 250;

interface Term {
  pid: number;
  start: number;
  stopBegin: number | null;
  stopEnd: number | null;
}

/** Who led when, as the workers wrote it. */
function terms(file: string): Term[] {
  const out: Term[] = [];
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const row of text.split('\n').filter(Boolean)) {
    const [what, pid, at] = row.split(' ') as [string, string, string];
    const term = out.findLast((t) => t.pid === Number(pid));
    if (what === 'start') out.push({ pid: Number(pid), start: Number(at), stopBegin: null, stopEnd: null });
    else if (term && what === 'stop-begin') term.stopBegin = Number(at);
    else if (term && what === 'stop-end') term.stopEnd = Number(at);
  }
  return out.sort((a, b) => a.start - b.start);
}

const leaderEvents = (root: Root) =>
  root.events.filter((e) => e.app === 'jobs' && typeof e.leader === 'string');

/**
 * The primary's claims, in the order it made them: a grant only after the previous holder's fence
 * (`stopped`, or `lost`: its exit), and the workers' own lines agree: one start per grant, each after the
 * previous leader's stop ended (when it ended: a killed or dead leader's exit was seen before the grant).
 */
function assertOneLeader(root: Root, file: string): Term[] {
  let holder: number | null = null;
  for (const e of leaderEvents(root)) {
    const pid = e.pid as number;
    if (e.leader === 'granted') {
      expect(holder, `granted ${pid} while ${holder} holds it`).toBeNull();
      holder = pid;
    } else if (e.leader === 'stopped' || e.leader === 'lost') {
      expect(pid).toBe(holder);
      holder = null;
    }
  }
  const led = terms(file);
  const granted = leaderEvents(root).filter((e) => e.leader === 'granted');
  expect(led.map((t) => t.pid)).toEqual(granted.map((e) => e.pid));
  for (let i = 1; i < led.length; i++) {
    const [prev, next] = [led[i - 1] as Term, led[i] as Term];
    if (prev.stopEnd !== null)
      expect(next.start, `${next.pid} started before ${prev.pid} stopped`).toBeGreaterThanOrEqual(
        prev.stopEnd,
      );
  }
  return led;
}

function start(extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  const log = join(dir, 'leader.log');
  const hang = join(dir, 'hang');
  const root = startRoot({
    apps: [
      fixtureApp('jobs', 'leader-app.mjs', {
        instances: 3,
        env: { LEADER_LOG: log, LEADER_HANG: hang },
        shutdown: { timeout: `${TIMEOUT}ms` },
        ...extra,
      }),
    ],
  });
  return { root, log, hang };
}

const granted = (root: Root, from: number, what: string) =>
  root.waitFor((e) => e.app === 'jobs' && e.leader === 'granted', what, { from });

/** The term `pid` wrote, once its start line is there. */
async function started(log: string, pid: unknown): Promise<Term> {
  await until(() => terms(log).some((t) => t.pid === pid), `${pid} to start leading`);
  return terms(log).findLast((t) => t.pid === pid) as Term;
}

async function reload(root: Root): Promise<LogEvent> {
  const from = root.events.length;
  root.signal('SIGUSR2');
  return root.waitFor(
    (e) => e.app === 'jobs' && (e.reload === 'done' || e.reload === 'failed'),
    'the reload',
    { from },
  );
}

describe('one leader per app', () => {
  it('stays one through a rolling reload, a scale down and up, and a SIGKILLed leader', async () => {
    const { root, log } = start();
    await root.running('jobs');
    const first = await granted(root, 0, 'the first leader');
    const gaps: Record<string, number> = {};

    // A rolling reload: one hand-over, to a new worker, once the old leader's stop ended.
    let from = root.events.length;
    expect((await reload(root)).reload).toBe('done');
    const afterReload = await granted(root, from, 'a leader after the reload');
    expect(leaderEvents(root).filter((e) => e.leader === 'granted')).toHaveLength(2);
    let prev = await started(log, first.pid);
    let next = await started(log, afterReload.pid);
    gaps.reload = next.start - (prev.stopBegin ?? Number.NaN);
    expect(prev.stopEnd).not.toBeNull();
    // Nobody leads only between the old leader's stop end and the new one's start: two messages.
    gaps.reloadIdle = next.start - (prev.stopEnd ?? Number.NaN);

    // Scale down to 1 (slot 0 stays), then up to 3: the leader is slot 0's, or it hands over to it.
    from = root.events.length;
    const down = await runCli(['scale', 'jobs', '1'], { cwd: root.dir, env: root.env });
    expect(down.code, down.stderr).toBe(0);
    const last = () => leaderEvents(root).findLast((e) => e.leader === 'granted') as LogEvent;
    if (afterReload.worker !== 0) {
      const moved = await granted(root, from, 'a leader after the scale down');
      expect(moved.worker).toBe(0);
      prev = await started(log, next.pid);
      next = await started(log, moved.pid);
      gaps.scaleDown = next.start - (prev.stopBegin ?? Number.NaN);
    }
    const up = await runCli(['scale', 'jobs', '3'], { cwd: root.dir, env: root.env });
    expect(up.code, up.stderr).toBe(0);
    const leader = last();
    // New workers do not take it from a healthy leader (this sleep proves a grant did NOT happen).
    await new Promise((r) => setTimeout(r, 300));
    expect(last()).toBe(leader);

    // SIGKILL the leader: its exit is the fence; another ready worker leads.
    from = root.events.length;
    const killedAt = Date.now();
    process.kill(leader.pid as number, 'SIGKILL');
    const heir = await granted(root, from, 'a leader after the SIGKILL');
    const lost = leaderEvents(root).find((e) => e.leader === 'lost' && e.pid === leader.pid);
    expect(lost).toBeDefined();
    next = await started(log, heir.pid);
    gaps.sigkill = next.start - killedAt;

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    const led = assertOneLeader(root, log);
    // Stopping the app revoked the last leader, whose stop ran to its end.
    expect(led.at(-1)?.stopEnd).not.toBeNull();
    for (const [what, gap] of Object.entries(gaps)) expect(gap, what).toBeLessThan(BOUND);
    console.log(`leader hand-over gaps (ms): ${JSON.stringify(gaps)}; bound ${BOUND}`);
  });

  it('kills a leader whose stop hangs past shutdown.timeout, and only then starts the next one', async () => {
    const { root, log, hang } = start({ instances: 2 });
    await root.running('jobs');
    const first = await granted(root, 0, 'the first leader');
    await started(log, first.pid);
    writeFileSync(hang, '');
    const from = root.events.length;
    expect((await reload(root)).reload).toBe('done');
    const heir = await granted(root, from, 'a leader after the hung stop');
    const events = leaderEvents(root);
    const at = (change: string, pid: unknown) =>
      events.findIndex((e) => e.leader === change && e.pid === pid);
    // Revoked, killed at the timeout, its exit seen, and only then the grant.
    expect(at('revoked', first.pid)).toBeGreaterThanOrEqual(0);
    expect(at('killed', first.pid)).toBeGreaterThan(at('revoked', first.pid));
    expect(at('lost', first.pid)).toBeGreaterThan(at('killed', first.pid));
    expect(at('granted', heir.pid)).toBeGreaterThan(at('lost', first.pid));
    expect(isAlive(first.pid as number)).toBe(false);
    const old = await started(log, first.pid);
    const next = await started(log, heir.pid);
    expect(old.stopEnd).toBeNull();
    const gap = next.start - (old.stopBegin ?? Number.NaN);
    expect(gap).toBeGreaterThanOrEqual(TIMEOUT);
    expect(gap).toBeLessThan(BOUND);
    console.log(`leader hand-over past a hung stop: ${gap} ms (timeout ${TIMEOUT}, bound ${BOUND})`);
    rmSync(hang);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    assertOneLeader(root, log);
  });
});
