// Messages between workers (issue 30): socket.io's cluster adapter (the real `@socket.io/cluster-adapter`
// and `socket.io`, bench/apps/sio-relay.cjs) over 4 workers, its messages relayed by the primary: under
// clusterd (its primary's relay, primary/relay/socketio.ts) and under a bare node:cluster primary that
// runs the package's own `setupPrimary()` (bench/apps/bare-sio-primary.cjs), each with node:cluster's
// `serialization` "json" and "advanced". All four run at once (idle, they cost nothing) and take turns.
// 1. Relay: every worker sends COUNT `io.serverSideEmit('tick', ...)` (an adapter message of ~200 bytes)
//    as fast as its channel takes them; messages delivered to workers per second (each reaches the 3
//    others), and the primary's CPU time (user + system, /proc/<pid>/stat) per 10k delivered.
// 2. HTTP while messages flow: keep-alive req/s of "hello" (autocannon, CONNECTIONS connections, SECONDS
//    s) without and with every worker sending RATE ticks a second meanwhile.
// PM2 is not here: its cluster mode has no primary of the app's to run `setupPrimary()` in.
// Rounds interleaved, the first target rotating every round; medians.
// Run: npm run build && node bench/messages.ts [relay rounds] [http rounds] [count] [rate]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import {
  freePort,
  launchClusterd,
  lines,
  median,
  ROOT,
  stop,
  table,
  tempConfig,
  writeResult,
} from './lib.ts';

const RELAY_ROUNDS = Number(process.argv[2] ?? 5);
const HTTP_ROUNDS = Number(process.argv[3] ?? 6);
/** Ticks each worker sends in one relay round. */
const COUNT = Number(process.argv[4] ?? 10_000);
/** Ticks a second each worker sends during the HTTP load. */
const RATE = Number(process.argv[5] ?? 1_000);
const WORKERS = 4;
const SECONDS = 1;
const CONNECTIONS = 50;
const APP = join(ROOT, 'bench/apps/sio-relay.cjs');
const TICKS_PER_SECOND = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these

type Serialization = 'json' | 'advanced';
interface Running {
  port: number;
  primary: number;
  stop(): Promise<void>;
}
interface Target {
  name: string;
  start(port: number): Promise<Running>;
}

/** User + system CPU time of `pid`, in ms. */
function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
}

const clusterd = (serialization: Serialization): Target => ({
  name: `clusterd, ${serialization}`,
  async start(port) {
    const { file } = tempConfig({
      apps: [
        {
          name: 'sio',
          script: APP,
          instances: WORKERS,
          serialization,
          env: { PORT: port, WORKERS: String(WORKERS) },
        },
      ],
    });
    const { child, events, done } = launchClusterd(file, (e) => e.app === 'sio' && e.to === 'running');
    try {
      await done;
    } catch (error) {
      await stop(child);
      throw error;
    }
    // The app's primary, as the root logs it ("primary started").
    const primary = events.find((e) => typeof e.primary === 'number')?.primary;
    if (typeof primary !== 'number') throw new Error('no primary pid in clusterd events');
    return { port, primary, stop: () => stop(child) };
  },
});

const bare = (serialization: Serialization): Target => ({
  name: `bare node:cluster + setupPrimary(), ${serialization}`,
  async start(port) {
    const child = spawn(process.execPath, [join(ROOT, 'bench/apps/bare-sio-primary.cjs')], {
      env: {
        ...process.env,
        SCRIPT: APP,
        WORKERS: String(WORKERS),
        PORT: String(port),
        SERIALIZATION: serialization,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => lines(child, (l) => l.includes('"ready":true') && resolve()));
    return { port, primary: child.pid as number, stop: () => stop(child) };
  },
});

interface Load {
  ms: number;
  received: number;
  sent: number;
  workers: number;
}

async function get<T>(port: number, path: string, timeoutMs = 60_000): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return (await r.json()) as T;
}

/** One relay round: every worker sends COUNT ticks; the primary's CPU over exactly that. */
async function relay(t: Running, count = COUNT) {
  const cpu0 = cpuMs(t.primary);
  const load = await get<Load>(t.port, `/burst?count=${count}`);
  const cpu = cpuMs(t.primary) - cpu0;
  const expected = WORKERS * (WORKERS - 1) * count;
  if (load.received !== expected || load.workers !== WORKERS)
    console.error(`  delivered ${load.received} of ${expected}, ${load.workers} of ${WORKERS} workers`);
  return {
    perSecond: load.received / (load.ms / 1000),
    cpuMsPer10k: (cpu * 10_000) / load.received,
    ms: load.ms,
    received: load.received,
  };
}

async function keepAlive(port: number) {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Keep-alive req/s while every worker sends RATE ticks a second (and the primary's CPU meanwhile). */
async function withFlow(t: Running) {
  const flow = get<Load>(t.port, `/flow?ms=${SECONDS * 1000 + 350}&rate=${RATE}`);
  await sleep(250);
  const cpu0 = cpuMs(t.primary);
  const r = await keepAlive(t.port);
  const cpu = cpuMs(t.primary) - cpu0;
  const load = await flow;
  return { ...r, primaryCpuMs: cpu, delivered: load.received, expected: load.sent * (WORKERS - 1) };
}

const targets = [clusterd('json'), bare('json'), clusterd('advanced'), bare('advanced')];
const running: { t: Target; r: Running }[] = [];
const started = Date.now();
try {
  for (const t of targets) running.push({ t, r: await t.start(await freePort()) });
  const turns = (round: number) => [
    ...running.slice(round % running.length),
    ...running.slice(0, round % running.length),
  ];
  // Warm-up (JIT, the adapters' first messages), not counted; autocannon's first run too.
  for (const { r } of running) await relay(r, 1_000);
  await keepAlive(running[0]?.r.port as number);

  const relays = new Map<string, Awaited<ReturnType<typeof relay>>[]>();
  for (let round = 0; round < RELAY_ROUNDS; round++)
    for (const { t, r } of turns(round)) {
      const s = await relay(r);
      relays.set(t.name, [...(relays.get(t.name) ?? []), s]);
      console.error(
        `relay round ${round + 1} ${t.name}: ${Math.round(s.perSecond)}/s, ${s.cpuMsPer10k.toFixed(1)} ms CPU / 10k`,
      );
    }

  const http = new Map<
    string,
    {
      without: number[];
      with: number[];
      ratios: number[];
      errors: number;
      primaryCpuMs: number[];
      delivered: number;
      expected: number;
    }
  >();
  for (let round = 0; round < HTTP_ROUNDS; round++)
    for (const { t, r } of turns(round)) {
      const h = http.get(t.name) ?? {
        without: [],
        with: [],
        ratios: [],
        errors: 0,
        primaryCpuMs: [],
        delivered: 0,
        expected: 0,
      };
      // Which of the two goes first alternates by round.
      for (const flowing of round % 2 ? [true, false] : [false, true]) {
        if (flowing) {
          const s = await withFlow(r);
          h.with.push(s.rps);
          h.errors += s.errors;
          h.primaryCpuMs.push(s.primaryCpuMs);
          h.delivered += s.delivered;
          h.expected += s.expected;
        } else {
          const s = await keepAlive(r.port);
          h.without.push(s.rps);
          h.errors += s.errors;
        }
      }
      // The two samples of a round ran back to back: their ratio is less noisy than one of medians.
      h.ratios.push((h.with.at(-1) ?? 0) / (h.without.at(-1) ?? 1));
      http.set(t.name, h);
      console.error(
        `http round ${round + 1} ${t.name}: ${Math.round(h.without.at(-1) ?? 0)} req/s without, ${Math.round(h.with.at(-1) ?? 0)} with`,
      );
    }

  const summary: Record<string, object> = {};
  const rows: (string | number)[][] = [
    [
      'target',
      'delivered/s',
      'primary CPU ms / 10k',
      'req/s without',
      'req/s with',
      'with / without',
      'primary CPU % with',
      'ticks delivered with',
    ],
  ];
  for (const { t } of running) {
    const rl = relays.get(t.name) ?? [];
    const h = http.get(t.name);
    const row = {
      perSecond: Math.round(median(rl.map((s) => s.perSecond))),
      cpuMsPer10k: +median(rl.map((s) => s.cpuMsPer10k)).toFixed(1),
      rpsWithout: Math.round(median(h?.without ?? [])),
      rpsWith: Math.round(median(h?.with ?? [])),
      /** Median over rounds of with / without, each round's two samples back to back. */
      withOverWithout: +median(h?.ratios ?? []).toFixed(2),
      primaryCpuPercentWith: +((median(h?.primaryCpuMs ?? []) / (SECONDS * 1000)) * 100).toFixed(1),
      errors: h?.errors ?? 0,
      flowDelivered: h?.delivered ?? 0,
      flowExpected: h?.expected ?? 0,
      relaySamples: rl.map((s) => ({
        perSecond: Math.round(s.perSecond),
        cpuMsPer10k: +s.cpuMsPer10k.toFixed(1),
      })),
      withoutSamples: (h?.without ?? []).map(Math.round),
      withSamples: (h?.with ?? []).map(Math.round),
    };
    summary[t.name] = row;
    rows.push([
      t.name,
      `${row.perSecond} (${row.relaySamples.map((s) => s.perSecond).join(' ')})`,
      `${row.cpuMsPer10k} (${row.relaySamples.map((s) => s.cpuMsPer10k).join(' ')})`,
      row.rpsWithout,
      row.rpsWith,
      `${row.withOverWithout} (${(h?.ratios ?? []).map((x) => x.toFixed(2)).join(' ')})`,
      row.primaryCpuPercentWith,
      `${row.flowDelivered} of ${row.flowExpected}`,
    ]);
  }
  console.log(table(rows));
  // biome-ignore lint/suspicious/noExplicitAny: the rows above.
  const s = summary as Record<string, any>;
  const ratios: [string, number][] = (['json', 'advanced'] as const).flatMap((z) => {
    const c = s[`clusterd, ${z}`];
    const b = s[`bare node:cluster + setupPrimary(), ${z}`];
    return [
      [`${z}: delivered/s, clusterd / bare`, +(c.perSecond / b.perSecond).toFixed(2)],
      [`${z}: primary CPU per 10k, clusterd / bare`, +(c.cpuMsPer10k / b.cpuMsPer10k).toFixed(2)],
      [
        `${z}: req/s with / without messages, clusterd / bare`,
        +(c.withOverWithout / b.withOverWithout).toFixed(2),
      ],
    ] as [string, number][];
  });
  console.log(table([['ratio', 'value'], ...ratios]));
  const errors = Object.values(s).reduce((a, r) => a + r.errors, 0);
  const load1 = loadavg().map((x) => x.toFixed(2));
  console.log(
    `\n${WORKERS} workers; relay: ${RELAY_ROUNDS} rounds of ${COUNT} ticks per worker; http: ${HTTP_ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections, ${RATE} ticks/s per worker meanwhile; ${errors} HTTP errors; ${Math.round((Date.now() - started) / 1000)} s; load average ${load1.join(' ')}`,
  );
  console.log(
    `written to ${writeResult('messages', { workers: WORKERS, relayRounds: RELAY_ROUNDS, httpRounds: HTTP_ROUNDS, count: COUNT, rate: RATE, seconds: SECONDS, connections: CONNECTIONS, targets: summary, ratios: Object.fromEntries(ratios), loadavg: load1 })}`,
  );
} finally {
  for (const { r } of running) await r.stop();
}
