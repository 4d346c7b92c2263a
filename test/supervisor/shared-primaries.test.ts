// Shared primaries (`primaryGroup`) with real processes: three apps in one group share one primary
// process beside an app with its own. Each app keeps its own workers, output, reloads and stops; the
// shared primary's death restarts its three apps (a new one) and leaves the lone app alone; a live
// config reload moves apps into and out of the group. An app flooding output to a root whose stdout nobody
// reads is held back as with a primary of its own, and loses nothing. Nothing is left behind (root.ts's
// afterEach).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/protocol.js';
import { runCli } from '../helpers/cli.js';
import { freePort, get } from '../helpers/http.js';
import { isAlive, until } from '../helpers/processes.js';
import { type LogEvent, type Root, startRoot } from '../helpers/root.js';

const APP = `console.log('boot ' + process.env.CLUSTERD_APP + ' ' + process.pid);
require('node:http')
  .createServer((_q, s) => s.end(process.env.CLUSTERD_APP + ' ' + process.pid))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

async function status(root: Root): Promise<Status> {
  const r = await cli(root, ['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

const appOf = (s: Status, name: string) => {
  const app = s.apps.find((a) => a.name === name);
  if (!app) throw new Error(`no app ${name} in status`);
  return app;
};
const pidsOf = (s: Status, name: string) =>
  appOf(s, name)
    .workers.map((w) => w.pid)
    .sort();

describe('shared primaries (primaryGroup)', () => {
  it('runs three apps under one primary beside a lone one, each app on its own', async () => {
    const ports = { a: await freePort(), b: await freePort(), c: await freePort(), d: await freePort() };
    const app = (name: keyof typeof ports, group: string | null) => ({
      name,
      script: 'app.cjs',
      instances: 2,
      env: { PORT: String(ports[name]) },
      ...(group ? { primaryGroup: group } : {}),
    });
    const root = startRoot(
      { apps: [app('a', 'g'), app('b', 'g'), app('c', 'g'), app('d', null)] },
      { files: { 'app.cjs': APP } },
    );
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => root.running(n)));
    const answer = async (name: keyof typeof ports) =>
      (await get(`127.0.0.1:${ports[name]}`)).body.split(' ')[0];
    for (const name of ['a', 'b', 'c', 'd'] as const) expect(await answer(name)).toBe(name);

    // One shared pid for the three, another for the lone app.
    let s = await status(root);
    const host = appOf(s, 'a').primary as number;
    expect(appOf(s, 'b').primary).toBe(host);
    expect(appOf(s, 'c').primary).toBe(host);
    expect(appOf(s, 'd').primary).not.toBe(host);
    const lone = { primary: appOf(s, 'd').primary, workers: pidsOf(s, 'd') };
    const before = { b: pidsOf(s, 'b'), c: pidsOf(s, 'c') };

    // A crashed worker of a: only a's worker restarts.
    let mark = root.events.length;
    const crashed = appOf(s, 'a').workers[0]?.pid as number;
    process.kill(crashed, 'SIGKILL');
    await root.waitFor((e) => e.app === 'a' && e.to === 'ready' && e.pid !== crashed, 'a new worker of a', {
      from: mark,
    });
    s = await status(root);
    expect(pidsOf(s, 'a')).not.toContain(crashed);
    expect(pidsOf(s, 'b')).toEqual(before.b);
    expect(pidsOf(s, 'c')).toEqual(before.c);
    expect(appOf(s, 'a').primary).toBe(host);

    // A reload of a: b and c keep their workers.
    const reload = await cli(root, ['reload', 'a']);
    expect(reload.code, reload.stderr).toBe(0);
    s = await status(root);
    expect(pidsOf(s, 'b')).toEqual(before.b);
    expect(pidsOf(s, 'c')).toEqual(before.c);

    // Each app's output reaches the root as its own: `logs a` shows a's lines only.
    const logs = async (name: string) => {
      const r = await cli(root, ['logs', name, '--lines', '200']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter((l) => l.includes('boot '));
    };
    const aLines = await logs('a');
    const bLines = await logs('b');
    expect(aLines.length).toBeGreaterThanOrEqual(4);
    expect(aLines.every((l) => l.includes('"app":"a"') && l.includes('boot a '))).toBe(true);
    expect(bLines.length).toBe(2);
    expect(bLines.every((l) => l.includes('"app":"b"') && l.includes('boot b '))).toBe(true);
    // Whole lines: each is one JSON object.
    for (const line of [...aLines, ...bLines]) expect(() => JSON.parse(line)).not.toThrow();

    // Stop a: b and c still answer, under the same shared primary.
    const stopped = await cli(root, ['stop', 'a']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await answer('b')).toBe('b');
    expect(await answer('c')).toBe('c');
    expect(isAlive(host)).toBe(true);
    s = await status(root);
    expect(appOf(s, 'b').primary).toBe(host);
    expect(pidsOf(s, 'b')).toEqual(before.b);
    mark = root.events.length;
    const started = await cli(root, ['start', 'a']);
    expect(started.code, started.stderr).toBe(0);
    await root.running('a', mark);
    expect(appOf(await status(root), 'a').primary).toBe(host);

    // The shared primary SIGKILLed: its three apps come back under a new one; the lone app is untouched.
    mark = root.events.length;
    process.kill(host, 'SIGKILL');
    await Promise.all(['a', 'b', 'c'].map((n) => root.running(n, mark)));
    s = await status(root);
    const host2 = appOf(s, 'a').primary as number;
    expect(host2).not.toBe(host);
    expect(appOf(s, 'b').primary).toBe(host2);
    expect(appOf(s, 'c').primary).toBe(host2);
    expect(appOf(s, 'd').primary).toBe(lone.primary);
    expect(pidsOf(s, 'd')).toEqual(lone.workers);
    for (const name of ['a', 'b', 'c', 'd'] as const) expect(await answer(name)).toBe(name);

    // A live config reload: c leaves the group, d joins it. Each is restarted under its new primary; a
    // and b stay as they are.
    const kept = { a: pidsOf(s, 'a'), b: pidsOf(s, 'b') };
    mark = root.events.length;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({ apps: [app('a', 'g'), app('b', 'g'), app('c', null), app('d', 'g')] }),
    );
    root.signal('SIGHUP');
    const reloaded = await root.waitFor((e) => String(e.msg).startsWith('config reloaded'), 'the reload', {
      from: mark,
    });
    expect(String(reloaded.changes)).toMatch(/c restarted/);
    await Promise.all(['c', 'd'].map((n) => root.running(n, mark)));
    s = await status(root);
    expect(appOf(s, 'd').primary).toBe(host2);
    expect(appOf(s, 'c').primary).not.toBe(host2);
    expect(appOf(s, 'c').primary).not.toBe(lone.primary);
    expect(pidsOf(s, 'a')).toEqual(kept.a);
    expect(pidsOf(s, 'b')).toEqual(kept.b);
    expect(isAlive(lone.primary as number)).toBe(false);
    for (const name of ['a', 'b', 'c', 'd'] as const) expect(await answer(name)).toBe(name);

    // The last apps of the group leave it: the empty shared primary exits.
    mark = root.events.length;
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify({ apps: [app('c', null)] }));
    root.signal('SIGHUP');
    await root.waitFor((e) => String(e.msg).startsWith('config reloaded'), 'the second reload', {
      from: mark,
    });
    await until(() => !isAlive(host2), 'the empty shared primary to exit', 15_000);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 120_000);

  // Backpressure end to end: the root writes an app's output only as fast as its stdout takes it, and the
  // workers wait, instead of the root buffering the flood (which it did for a shared primary before).
  it.each([
    ['a shared primary', 'g'],
    ['a primary of its own', null],
  ])(
    "holds back a flood while the root's stdout is not read, and loses no line (%s)",
    async (_, group) => {
      const LINES = 20_000;
      const FLOOD = `const { existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const pad = 'x'.repeat(1000);
let i = 0;
const flood = () => {
  while (i < ${LINES}) {
    const ok = process.stdout.write('line ' + i + ' ' + pad + '\\n');
    i++;
    if (i % 200 === 0) writeFileSync(join(__dirname, 'progress'), String(i));
    if (!ok) return void process.stdout.once('drain', flood);
  }
  writeFileSync(join(__dirname, 'progress'), String(i));
};
// Served: the app runs on after its flood, until the root stops it.
setInterval(() => {}, 60_000);
const wait = setInterval(() => {
  if (existsSync(join(__dirname, 'go'))) {
    clearInterval(wait);
    flood();
  }
}, 20);
`;
      const root = startRoot(
        {
          apps: [
            {
              name: 'flood',
              script: 'flood.cjs',
              instances: 1,
              readiness: 'loaded',
              ...(group ? { primaryGroup: group } : {}),
            },
          ],
        },
        { files: { 'flood.cjs': FLOOD } },
      );
      await root.running('flood');
      const rss = () => {
        const status = readFileSync(`/proc/${root.child.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024;
      };
      const progress = () => {
        const file = join(root.dir, 'progress');
        return existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
      };
      // Nobody reads the root's stdout: the pipe fills, then the root's stream says "wait".
      root.child.stdout?.pause();
      const before = rss();
      writeFileSync(join(root.dir, 'go'), '');
      // The worker writes until it is held back: its progress stops moving, far short of the flood.
      let last = -1;
      let peak = before;
      let stable = 0;
      const deadline = Date.now() + 20_000;
      while (stable < 10) {
        expect(Date.now(), 'the worker to be held back').toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 100));
        peak = Math.max(peak, rss());
        const now = progress();
        stable = now === last && now > 0 ? stable + 1 : 0;
        last = now;
      }
      expect(last).toBeLessThan(LINES / 2);
      // The root holds a bounded window of it, not the flood (20 MB of lines, more as JSON).
      expect(peak - before).toBeLessThan(12 * 1024 * 1024);

      // The reader comes back: every line arrives, whole, once and in order.
      root.child.stdout?.resume();
      const mine = (e: LogEvent) => e.app === 'flood' && e.stream === 'stdout' && e.msg.startsWith('line ');
      await root.waitFor((e) => mine(e) && e.msg.startsWith(`line ${LINES - 1} `), 'the last line', {
        timeoutMs: 60_000,
      });
      const pad = 'x'.repeat(1000);
      const got = root.events.filter(mine).map((e) => e.msg);
      expect(got.length).toBe(LINES);
      for (let i = 0; i < LINES; i++)
        if (got[i] !== `line ${i} ${pad}`) expect(got[i]).toBe(`line ${i} ${pad}`);
      // Nothing torn: every line the root wrote is one JSON object.
      expect(root.output.filter((line) => line.includes(pad))).toHaveLength(LINES);
      root.signal('SIGTERM');
      expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    },
    120_000,
  );

  it("leaves nothing behind when the root is SIGKILLed: the shared primary kills every app's workers", async () => {
    const ports = [await freePort(), await freePort()];
    const root = startRoot(
      {
        apps: ports.map((port, i) => ({
          name: `app${i}`,
          script: 'app.cjs',
          instances: 2,
          primaryGroup: 'g',
          env: { PORT: String(port) },
        })),
      },
      { files: { 'app.cjs': APP } },
    );
    await Promise.all([root.running('app0'), root.running('app1')]);
    const host = appOf(await status(root), 'app0').primary as number;
    root.signal('SIGKILL');
    await root.waitForExit();
    await until(() => !isAlive(host), 'the shared primary to exit', 5_000);
    // root.ts's afterEach asserts that no process of this test is left.
  }, 60_000);
});
