// The parts of bench/balancing.ts: targets that say which process is their primary, the seed
// scenario's requests, and the loads of the throughput half (keep-alive from many client addresses,
// a connection-rate generator).
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT, startClusterd, stop, tempConfig } from './lib.ts';
import { bare, type Running, type Target } from './targets.ts';

export const CONNECTIONS = 50;
export const SLOW_MS = 1500;
export const APP = join(ROOT, 'bench/apps/slow-fast.cjs');
const TICKS_PER_SECOND = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these

export type Balancing = 'round-robin' | 'kernel' | 'least-connections' | 'sticky';

/** A started target and the pid of its process on the accept path (the primary). */
export interface Started extends Running {
  primary(): number;
}
export interface Measured extends Target {
  start(app: string, port: number, workers: number): Promise<Started>;
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, state.
function stat(pid: number | string): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(stat(d)[1]) === ppid;
      } catch {
        return false; // gone since readdir
      }
    })
    .map(Number);
}

function only(pids: number[], what: string): number {
  if (pids.length !== 1) throw new Error(`expected one ${what}, found ${pids.length}: ${pids.join(' ')}`);
  return pids[0] as number;
}

/** User + system CPU time of `pid`, in ms. */
export function cpuMs(pid: number): number {
  const f = stat(pid);
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
}

export const clusterd = (balancing: Balancing): Measured => ({
  name: `clusterd ${balancing}`,
  async start(app, port, workers) {
    const { file } = tempConfig({
      apps: [{ name: 'app', script: app, instances: workers, balancing, env: { PORT: port } }],
    });
    const { child } = await startClusterd(file, (e) => e.to === 'running');
    // The root supervisor runs one primary per app, as its only child.
    return { stop: () => stop(child), primary: () => only(childrenOf(child.pid as number), 'primary') };
  },
});

export const bareCluster: Measured = {
  name: 'bare node:cluster',
  async start(app, port, workers) {
    const running = await bare.start(app, port, workers);
    const primary = () =>
      only(
        childrenOf(process.pid).filter((pid) =>
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bare-cluster.cjs'),
        ),
        'bare primary',
      );
    return { ...running, primary };
  },
};

// The seed scenario

/** One GET on a new connection (no keep-alive): `started` when its headers arrive, `done` with its ms. */
export function request(port: number, path: string, localAddress?: string) {
  const t0 = performance.now();
  const req = http.get({ host: '127.0.0.1', port, path, agent: false, localAddress });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  const done = response.then(
    (res) =>
      new Promise<{ ms: number; body: string }>((resolve, reject) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ ms: performance.now() - t0, body }));
        res.on('error', reject);
      }),
  );
  done.catch(() => {}); // an aborted /slow; callers that care await `done`
  return { started: response.then(() => {}), done, abort: () => req.destroy() };
}

/** Keeps one /slow request in flight (the next starts when one ends) until `stopped()`. */
async function slowLane(port: number, stopped: () => boolean, onStart: () => void, live: Set<() => void>) {
  while (!stopped()) {
    const slow = request(port, `/slow?ms=${SLOW_MS}`);
    live.add(slow.abort);
    try {
      await slow.started;
      onStart();
      await slow.done;
    } catch {
      // aborted at the end of the run
    }
    live.delete(slow.abort);
  }
}

/** /fast latencies, in ms, of `fast` sequential requests, with two /slow in flight when `busy`. */
export async function seed(port: number, busy: boolean, fast: number): Promise<number[]> {
  let stopped = false;
  const live = new Set<() => void>();
  const lanes: Promise<void>[] = [];
  if (busy) {
    // Both /slow requests have begun (their headers came) before the first /fast is sent.
    await Promise.all(
      [0, 1].map(
        () =>
          new Promise<void>((resolve) => {
            lanes.push(slowLane(port, () => stopped, resolve, live));
          }),
      ),
    );
  }
  const ms: number[] = [];
  for (let i = 0; i < fast; i++) ms.push((await request(port, '/fast').done).ms);
  stopped = true;
  for (const abort of live) abort();
  await Promise.all(lanes);
  return ms;
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

// The loads

// Loopback traffic all comes from 127.0.0.1, which a sticky primary maps to one worker, as it would any
// single client. Many clients are simulated by binding each autocannon connection to another address
// of 127.0.0.0/8 (autocannon has no option for it; it calls net.connect(port, host)). The other
// variants get the same spread, so the comparison is fair, and it also keeps the server's TIME_WAIT
// sockets of a `Connection: close` load from colliding with new connections (one 4-tuple per port).
export function spreadClients(count: number): () => void {
  const connect = net.connect;
  let next = 0;
  net.connect = ((port: number, host: string) =>
    connect({ port, host, localAddress: `127.0.0.${2 + (next++ % count)}` })) as typeof net.connect;
  return () => {
    net.connect = connect;
  };
}

/**
 * Resolves once `count` workers have answered /fast (with their pids). Requests go in concurrent batches, from rotating
 * client addresses: least-connections gives a lone sequential client the worker heard from last, again
 * and again, and sticky gives one address one worker.
 */
export async function workersAnswer(port: number, count: number): Promise<void> {
  const pids = new Set<string>();
  const deadline = Date.now() + 30_000;
  for (let batch = 0; pids.size < count; batch++) {
    if (Date.now() > deadline) throw new Error(`only ${pids.size} of ${count} workers answered on ${port}`);
    const answers = await Promise.all(
      Array.from({ length: 2 * count }, (_, i) =>
        request(port, '/fast', `127.0.0.${2 + ((batch * 2 * count + i) % CONNECTIONS)}`).done.catch(
          () => null,
        ),
      ),
    );
    for (const answer of answers) if (answer) pids.add(answer.body.trim());
  }
}

const CLOSE_REQUEST = 'GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

/**
 * `total` requests, each on a new connection that the server closes (`Connection: close`), `CONNECTIONS`
 * at a time, from `clients` addresses. Not autocannon: with `Connection: close` and `amount: 10000`,
 * autocannon 9 sent 10,000 requests, counted 5,000 responses and no error, and reported a 287 ms mean
 * latency at 2,500 responses/s over 50 connections; this counts each 200 and times it from connect to close.
 */
export async function closeLoad(port: number, total: number, clients: number) {
  let sent = 0;
  let errors = 0;
  const ms: number[] = [];
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const socket = net.connect({
        port,
        host: '127.0.0.1',
        ...(clients > 1 ? { localAddress: `127.0.0.${2 + (i % clients)}` } : {}),
      });
      let head = '';
      socket.setEncoding('latin1');
      socket.on('connect', () => socket.write(CLOSE_REQUEST));
      socket.on('data', (chunk: string) => {
        if (head.length < 12) head += chunk;
      });
      socket.on('error', () => {}); // counted at close: no 200 came
      socket.on('close', () => {
        if (head.startsWith('HTTP/1.1 200')) ms.push(performance.now() - t0);
        else errors++;
        resolve();
      });
    });
  const loop = async () => {
    while (sent < total) await one(sent++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  return { rps: total / ((performance.now() - t0) / 1000), p99: percentile(ms, 99), errors };
}
