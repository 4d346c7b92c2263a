// clusterd/worker's broadcast, request and requestAll with a real clusterd (test/fixtures/messages-app.mjs):
// every worker broadcasts a numbered tick every 10 ms and asks its siblings (requestAll) every 50 ms,
// through a rolling reload, a scale up and down and a SIGKILLed worker. No message is lost between live
// workers (what each got from each sender is an unbroken run of its numbers, in order), and no request
// waits for a worker that went away: each ends well within its timeout. A request to a worker that is
// SIGKILLed while it holds the request fails at once, not at the timeout.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { type Line, readLines } from '../helpers/messages-log.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

function start(env: Record<string, string>, extra: Record<string, unknown> = {}) {
  const log = join(tempDir(), 'messages.jsonl');
  const root = startRoot({
    apps: [fixtureApp('m', 'messages-app.mjs', { instances: 3, env: { MSG_LOG: log, ...env }, ...extra })],
  });
  return { root, log };
}

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

/** The pids of the live workers, from the root's events. */
function livePids(root: Root): number[] {
  const live = new Set<number>();
  for (const e of root.events)
    if (e.app === 'm' && typeof e.pid === 'number') {
      if (e.to === 'ready') live.add(e.pid);
      else if (['draining', 'stopped', 'exited', 'crashed'].includes(String(e.to))) live.delete(e.pid);
    }
  return [...live];
}

/** Waits until every live worker has got `n` more ticks from every other live one. */
async function exchanged(root: Root, log: string, n: number): Promise<void> {
  const pids = livePids(root);
  const base = new Map<string, number>();
  const count = (lines: Line[]) => {
    const counts = new Map<string, number>();
    for (const l of lines)
      if (l.ev === 'got') counts.set(`${l.pid}<${l.from}`, (counts.get(`${l.pid}<${l.from}`) ?? 0) + 1);
    return counts;
  };
  for (const [k, v] of count(readLines(log))) base.set(k, v);
  await until(
    () => {
      const now = count(readLines(log));
      return pids.every((r) =>
        pids.every((s) => r === s || (now.get(`${r}<${s}`) ?? 0) >= (base.get(`${r}<${s}`) ?? 0) + n),
      );
    },
    `the ${pids.length} live workers to exchange ${n} ticks each`,
    15_000,
  );
}

describe('broadcast and requests between workers', () => {
  it('loses no message between live workers, and no request hangs, through a reload, scaling and a SIGKILL', async () => {
    const { root, log } = start({ TICK: '1', REQ: '1' });
    await root.running('m');
    await exchanged(root, log, 5);

    let from = root.events.length;
    root.signal('SIGUSR2');
    const reload = await root.waitFor(
      (e) => e.app === 'm' && (e.reload === 'done' || e.reload === 'failed'),
      'the reload',
      { from },
    );
    expect(reload.reload).toBe('done');
    await exchanged(root, log, 5);

    expect((await cli(root, ['scale', 'm', '5'])).code).toBe(0);
    await exchanged(root, log, 5);
    expect((await cli(root, ['scale', 'm', '2'])).code).toBe(0);
    await exchanged(root, log, 5);

    from = root.events.length;
    const victim = livePids(root)[0] as number;
    process.kill(victim, 'SIGKILL');
    await root.waitFor((e) => e.app === 'm' && e.to === 'ready', 'a replacement for the SIGKILLed worker', {
      from,
    });
    await exchanged(root, log, 5);
    // Enough requestAll to judge by, however fast this machine ran the steps above (one every 50 ms per
    // worker: a loaded machine may have got through them with fewer).
    await until(() => readLines(log).filter((l) => l.ev === 'all').length > 50, '50 requestAll', 15_000);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    const lines = readLines(log);

    // Each receiver got each sender's ticks as an unbroken, ordered run (it joins and leaves at the ends).
    const runs = new Map<string, number[]>();
    for (const l of lines)
      if (l.ev === 'got') {
        const key = `${l.pid}<${l.from}`;
        runs.set(key, [...(runs.get(key) ?? []), l.seq as number]);
      }
    expect(runs.size).toBeGreaterThan(10);
    for (const [pair, seqs] of runs)
      for (let i = 1; i < seqs.length; i++)
        expect(seqs[i], `${pair}: after ${seqs[i - 1]}`).toBe((seqs[i - 1] as number) + 1);

    // Every requestAll ended, none at its timeout: a sibling that went away is missing at once.
    const all = lines.filter((l) => l.ev === 'all');
    expect(all.length).toBeGreaterThan(50);
    const slowest = Math.max(...all.map((l) => l.ms as number));
    expect(slowest).toBeLessThan(2_000);
    for (const l of all) {
      if (l.error !== undefined) expect(l.error, JSON.stringify(l)).toBe('disconnected');
      else for (const reason of l.missing as string[]) expect(reason).toBe('exited');
    }
    const missed = all.filter((l) => Array.isArray(l.missing) && l.missing.length).length;
    console.log(
      `${runs.size} sender->receiver runs, ${all.length} requestAll (slowest ${slowest} ms, ${missed} with a sibling gone)`,
    );
  });

  it('fails a request at once when the worker holding it is SIGKILLed', async () => {
    const { root, log } = start({}, { instances: 2 });
    await root.running('m');
    const [w0, w1] = [0, 1].map(
      (slot) => root.events.find((e) => e.app === 'm' && e.to === 'ready' && e.worker === slot)?.pid,
    );
    for (const [id, what] of [
      ['one', 'request'],
      ['all', 'requestAll'],
    ])
      expect(
        (
          await cli(root, [
            'send',
            'm',
            'cmd',
            JSON.stringify({ do: what, topic: 'hang', timeout: 20_000, id }),
            '--worker',
            '0',
          ])
        ).code,
      ).toBe(0);
    await until(
      () => readLines(log).filter((l) => l.ev === 'hanging' && l.pid === w1).length === 2,
      'worker 1 to hold both requests',
    );
    const killed = Date.now();
    process.kill(w1 as number, 'SIGKILL');
    await until(() => readLines(log).filter((l) => l.ev === 'result').length === 2, 'both results');
    const results = readLines(log).filter((l) => l.ev === 'result');
    const one = results.find((l) => l.id === 'one') as Line;
    const all = results.find((l) => l.id === 'all') as Line;
    expect(one).toMatchObject({ pid: w0, ok: false, code: 'exited' });
    expect(all).toMatchObject({
      pid: w0,
      ok: true,
      value: { answers: [], missing: [{ worker: 1, pid: w1, reason: 'exited' }] },
    });
    for (const l of [one, all]) expect(l.at - killed).toBeLessThan(2_000);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
