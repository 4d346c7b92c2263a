// What the request metrics cost a worker per request, in instructions: bench/apps/request-cost.cjs (a
// "hello" server with the preload's request tracking) runs under valgrind's callgrind with the
// request metrics' recorder on and off, is warmed up, then its counters are zeroed and it serves a fixed
// number of requests from autocannon (keep-alive, and `Connection: close`). Instructions, unlike req/s
// or CPU time, hardly move with what else runs on the machine (about 1 % run to run), so a cost of a few
// hundred ns per request shows even on a shared 2-core machine where rounds of bench/throughput.ts vary
// by 30 % or more. They count the process's own code only, not the kernel's (the sockets' system calls),
// so the share of a worker's time is smaller than the share of its instructions.
// Run: npm run build && node bench/request-cost.ts [rounds] [requests]   (valgrind must be installed)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, lines, median, ROOT, stop, table, writeResult } from './lib.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const REQUESTS = Number(process.argv[3] ?? 20_000);
const WARM_UP = 5_000;
const SERVER = join(ROOT, 'bench/apps/request-cost.cjs');
type Load = 'keep-alive' | 'connection: close';

function load(port: number, amount: number, kind: Load) {
  return autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: 10,
    amount,
    ...(kind === 'connection: close' ? { headers: { connection: 'close' } } : {}),
  });
}

/** Instructions per request of the server's process (all its threads) over `REQUESTS` requests. */
async function measure(mode: 'on' | 'off', kind: Load): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-bench-'));
  const out = join(dir, 'callgrind.out');
  const child: ChildProcess = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, SERVER, mode, String(port)],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    await new Promise<void>((resolve) => lines(child, (l) => l === 'listening' && resolve()));
    // Warm: the JIT has optimised the request path before anything is counted.
    await load(port, WARM_UP, kind);
    execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
    const r = await load(port, REQUESTS, kind);
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    if (r.errors || r.non2xx) throw new Error(`${r.errors + r.non2xx} failed requests`);
    // The dump asked for is callgrind.out.N, the highest N (nothing else dumps before the SIGKILL).
    const numbered = readdirSync(dir)
      .map((f) => /^callgrind\.out\.(\d+)$/.exec(f)?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    const last = join(dir, `callgrind.out.${Math.max(...numbered)}`);
    const summary = /^summary: (\d+)/m.exec(readFileSync(last, 'utf8'));
    if (!summary) throw new Error(`no summary in ${last}`);
    return Number(summary[1]) / r.requests.total;
  } finally {
    await stop(child, 'SIGKILL');
  }
}

const runs = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of ['keep-alive', 'connection: close'] as Load[]) {
    // Off and on alternate, the first changing every round.
    for (const mode of round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const n = await measure(mode, kind);
      runs.set(`${kind} | ${mode}`, [...(runs.get(`${kind} | ${mode}`) ?? []), n]);
      console.error(
        `round ${round + 1}: ${kind}, request metrics ${mode}: ${Math.round(n)} instructions per request`,
      );
    }
  }
}
const rows: (string | number)[][] = [['load', 'instructions/request, off', 'on', 'added', 'on / off']];
const result: Record<string, { off: number; on: number; runs: { off: number[]; on: number[] } }> = {};
for (const kind of ['keep-alive', 'connection: close']) {
  const offRuns = (runs.get(`${kind} | off`) ?? []).map(Math.round);
  const onRuns = (runs.get(`${kind} | on`) ?? []).map(Math.round);
  const off = median(offRuns);
  const on = median(onRuns);
  result[kind] = { off, on, runs: { off: offRuns, on: onRuns } };
  rows.push([
    kind,
    `${off} (${offRuns.join(' ')})`,
    `${on} (${onRuns.join(' ')})`,
    on - off,
    (on / off).toFixed(3),
  ]);
}
console.log(table(rows));
console.log(
  `\n${ROUNDS} rounds of ${REQUESTS} requests after ${WARM_UP} to warm up, 10 connections, under callgrind; medians; written to ${writeResult('request-cost', result)}`,
);
