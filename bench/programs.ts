// Programs (issue 29): what supervising a program that is not Node.js costs, under clusterd and under
// PM2's fork mode, for the same Python HTTP server (`bench/apps/py-http.py`) with 2 instances:
// - start to ready: from the start command until both instances answer HTTP;
// - supervisor memory, RSS and PSS, 1 s after both answer: clusterd's root + the app's primary, PM2's
//   daemon (a fresh PM2_HOME every round, so its daemon starts and is measured like clusterd's root);
// - the instances' own memory under each (the same program: should be equal);
// - the supervisor's CPU time from the start to that reading: clusterd's root (its CLI) + primary and
//   the helpers they reaped, PM2's `pm2 start` CLI + daemon; and how many TCP sockets the network
//   namespace held at each start (clusterd's readiness "port" reads /proc/net/tcp while it waits).
// The two setups differ where the managers do: clusterd listens on one port and hands it to both
// instances (`listen`, socket activation on fd 3), and waits until each instance has accepted a
// connection (readiness "port") before it logs `running`; PM2's fork mode cannot share a port between
// instances, so each binds its own (`increment_var: 'PORT'`: base and base + 1), and `pm2 start`
// returns once it has spawned them. Both run the same argv (the Python binary itself, found once from
// `python3` on PATH, so that no pyenv shim or other wrapper runs first).
// Rounds interleaved (the first target alternates); medians; ratios clusterd / PM2.
// Run: npm run build && node bench/programs.ts [rounds]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  descendants,
  freePort,
  launchClusterd,
  median,
  PY_HTTP,
  pssKiB,
  pythonExecutable,
  rssKiB,
  stop,
  table,
  tcpSockets,
  tempConfig,
  writeResult,
} from './lib.ts';
import { pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const INSTANCES = 2;
const APP = PY_HTTP;
// Let startup garbage settle before reading memory, as bench/supervisor-memory.ts does.
const SETTLE_MS = 1_000;
const PYTHON = pythonExecutable();
const COMMAND = [PYTHON, '-u', APP];

interface Sample {
  /** Start command to the command returning (PM2) or to `running` logged (clusterd), ms. */
  commandMs: number;
  /** Start command to both instances answering, ms. */
  answeringMs: number;
  supervisor: { rss: number[]; pss: number[] };
  instances: { rss: number[]; pss: number[] };
  /** Processes under the supervisor that are neither its part nor an instance (none expected). */
  others: string[];
  /** User + system CPU time of the supervisor's processes, from their start to the memory reading, ms. */
  supervisorCpuMs: number;
  /** TCP sockets in this network namespace when the round started (lines of /proc/net/tcp and tcp6). */
  tcpSockets: number;
}

let interrupted = false;
// What must end before the run does, whatever happens: each round registers its stop here.
const cleanups = new Set<() => Promise<void>>();
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups) await cleanup().catch((error) => console.error(error));
  cleanups.clear();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    interrupted = true;
    console.error(`${signal}: stopping what runs`);
    void cleanUp().then(() => process.exit(130));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
};

/** Waits up to `ms` for `pids` to be gone; SIGKILLs (by pid) and reports the ones still there. */
async function ensureGone(pids: number[], who: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) {
    console.error(`${who}: pid ${pid} (${cmdline(pid)}) still there ${ms} ms after the stop: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

const memory = (pids: number[]) => ({ rss: pids.map(rssKiB), pss: pids.map(pssKiB) });

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
/**
 * User + system CPU time a process has used, ms (fields 14-15 of /proc/PID/stat), and with `reaped` that
 * of its children it has waited for (16-17: the CLI of `pm2 start`, clusterd's short-lived helpers).
 */
function cpuMs(pid: number | 'self', reaped = true): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = [11, 12, ...(reaped ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks * TICK_MS;
}

async function clusterd(): Promise<Sample> {
  const port = await freePort();
  const { file } = tempConfig({
    apps: [
      {
        name: 'py',
        command: COMMAND,
        instances: INSTANCES,
        listen: { port, host: '127.0.0.1' },
        readiness: 'port',
      },
    ],
  });
  const sockets = tcpSockets();
  const started = performance.now();
  const { child, events, done } = launchClusterd(file, (e) => e.app === 'py' && e.to === 'running', 30_000);
  const known = new Set<number>();
  const cleanup = async () => {
    for (const pid of descendants(child.pid as number)) known.add(pid);
    await stop(child);
    await ensureGone([...known], 'clusterd');
  };
  cleanups.add(cleanup);
  try {
    await done;
    const commandMs = performance.now() - started;
    await answering(port, INSTANCES);
    const answeringMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const root = child.pid as number;
    const primary = events.find((e) => e.app === 'py' && typeof e.primary === 'number')?.primary as number;
    const instances = events.filter((e) => e.app === 'py' && e.to === 'ready').map((e) => e.pid as number);
    if (!primary || instances.length !== INSTANCES) throw new Error('clusterd: no primary or instance pids');
    const supervisor = memory([root, primary]);
    const supervisorCpuMs = cpuMs(root) + cpuMs(primary);
    const own = memory(instances);
    const tree = descendants(root);
    for (const pid of tree) known.add(pid);
    const others = tree.filter((pid) => pid !== primary && !instances.includes(pid)).map(cmdline);
    return {
      commandMs,
      answeringMs,
      supervisor,
      instances: own,
      others,
      supervisorCpuMs,
      tcpSockets: sockets,
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

/** A port whose next one is free too, both on loopback right now (PM2's second instance binds base + 1). */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
        .once('error', () => resolve(false))
        .listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function pm2Fork(): Promise<Sample> {
  const cli = pm2();
  const port = await twoFreePorts();
  const ecosystem = join(cli.home, 'ecosystem.json');
  // The same argv as clusterd's: the Python binary as the script, no interpreter of PM2's in front.
  const [script, ...args] = COMMAND;
  writeFileSync(
    ecosystem,
    JSON.stringify({
      apps: [
        {
          name: 'py',
          script,
          args,
          interpreter: 'none',
          exec_mode: 'fork',
          instances: INSTANCES,
          increment_var: 'PORT',
          env: { PORT: String(port) },
          autorestart: true,
        },
      ],
    }),
  );
  const known = new Set<number>();
  const daemonPid = () => {
    try {
      return Number(readFileSync(join(cli.home, 'pm2.pid'), 'utf8'));
    } catch {
      return 0;
    }
  };
  const cleanup = async () => {
    const daemon = daemonPid();
    if (daemon) for (const pid of [daemon, ...descendants(daemon)]) known.add(pid);
    cli.kill();
    await ensureGone([...known], 'PM2');
  };
  cleanups.add(cleanup);
  try {
    const sockets = tcpSockets();
    // The CLI's CPU time: it is this process's only child that ends meanwhile (execFileSync waits).
    const before = cpuMs('self') - cpuMs('self', false);
    const started = performance.now();
    cli.run(['start', ecosystem]);
    const cliCpuMs = cpuMs('self') - cpuMs('self', false) - before;
    const commandMs = performance.now() - started;
    const answered = await Promise.all(
      Array.from({ length: INSTANCES }, (_, i) => answering(port + i, 1).then((pids) => [...pids])),
    );
    const answeringMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const daemon = daemonPid();
    const list = JSON.parse(cli.run(['jlist'])) as { pid: number; pm2_env: { exec_mode: string } }[];
    const instances = list.map((p) => p.pid);
    for (const pid of answered.flat())
      if (!instances.includes(Number(pid))) throw new Error(`PM2: pid ${pid} answered, not in pm2 jlist`);
    if (list.some((p) => p.pm2_env.exec_mode !== 'fork_mode')) throw new Error('PM2: not in fork mode');
    const supervisor = memory([daemon]);
    const supervisorCpuMs = cpuMs(daemon) + cliCpuMs;
    const own = memory(instances);
    const tree = descendants(daemon);
    for (const pid of [daemon, ...tree]) known.add(pid);
    const others = tree.filter((pid) => !instances.includes(pid)).map(cmdline);
    return {
      commandMs,
      answeringMs,
      supervisor,
      instances: own,
      others,
      supervisorCpuMs,
      tcpSockets: sockets,
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

const samples: Record<'clusterd' | 'pm2', Sample[]> = { clusterd: [], pm2: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? (['pm2', 'clusterd'] as const) : (['clusterd', 'pm2'] as const);
    if (interrupted) break;
    for (const target of order) samples[target].push(await (target === 'clusterd' ? clusterd() : pm2Fork()));
  }
} finally {
  await cleanUp();
}

const mb = (kib: number) => +(kib / 1024).toFixed(1);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const memorySummary = (s: Sample[], kind: 'rss' | 'pss') => ({
  supervisorMiB: mb(median(s.map((x) => sum(x.supervisor[kind])))),
  supervisorEachMiB: s.map((x) => mb(sum(x.supervisor[kind]))),
  parts: s[0]?.supervisor[kind].map((_, i) => mb(median(s.map((x) => x.supervisor[kind][i] ?? 0)))) ?? [],
  instanceMiB: mb(median(s.flatMap((x) => x.instances[kind]))),
});
const summarize = (s: Sample[]) => ({
  commandMs: Math.round(median(s.map((x) => x.commandMs))),
  answeringMs: Math.round(median(s.map((x) => x.answeringMs))),
  answeringEachMs: s.map((x) => Math.round(x.answeringMs)),
  supervisorCpuMs: Math.round(median(s.map((x) => x.supervisorCpuMs))),
  tcpSocketsEach: s.map((x) => x.tcpSockets),
  rss: memorySummary(s, 'rss'),
  pss: memorySummary(s, 'pss'),
  others: [...new Set(s.flatMap((x) => x.others))],
});
const ours = summarize(samples.clusterd);
const theirs = summarize(samples.pm2);

const ratio = (x: number, y: number) => (x / y).toFixed(2);
const rows: (string | number)[][] = [['', 'clusterd', 'PM2 7 fork mode', 'clusterd / PM2']];
rows.push(['start command returned (ms)', ours.commandMs, theirs.commandMs, '-']);
rows.push([
  'start to both instances answering (ms)',
  ours.answeringMs,
  theirs.answeringMs,
  ratio(ours.answeringMs, theirs.answeringMs),
]);
rows.push([
  'supervisor CPU, start to reading (ms)',
  ours.supervisorCpuMs,
  `${theirs.supervisorCpuMs} (CLI + daemon)`,
  ratio(ours.supervisorCpuMs, theirs.supervisorCpuMs),
]);
for (const kind of ['rss', 'pss'] as const) {
  const [root, primary] = ours[kind].parts;
  rows.push([
    `supervisor ${kind.toUpperCase()} (MiB)`,
    `${ours[kind].supervisorMiB} (root ${root} + primary ${primary})`,
    `${theirs[kind].supervisorMiB} (daemon)`,
    ratio(ours[kind].supervisorMiB, theirs[kind].supervisorMiB),
  ]);
  rows.push([
    `per-instance ${kind.toUpperCase()} (MiB)`,
    ours[kind].instanceMiB,
    theirs[kind].instanceMiB,
    ratio(ours[kind].instanceMiB, theirs[kind].instanceMiB),
  ]);
}
console.log(table(rows));
console.log(
  `\neach round, start to both answering (ms): clusterd ${ours.answeringEachMs.join(' ')}; PM2 ${theirs.answeringEachMs.join(' ')}`,
);
console.log(
  `TCP sockets in the namespace at each round's start: clusterd ${ours.tcpSocketsEach.join(' ')}; PM2 ${theirs.tcpSocketsEach.join(' ')}`,
);
console.log(
  `each round, supervisor RSS (MiB): clusterd ${ours.rss.supervisorEachMiB.join(' ')}; PM2 ${theirs.rss.supervisorEachMiB.join(' ')}`,
);
for (const [name, s] of [
  ['clusterd', ours],
  ['PM2', theirs],
] as const)
  if (s.others.length) console.log(`other processes under ${name}: ${s.others.join('; ')}`);
console.log(
  `\n${ROUNDS} rounds, ${INSTANCES} instances of ${COMMAND.join(' ')}, medians; written to ${writeResult(
    'programs',
    { rounds: ROUNDS, instances: INSTANCES, command: COMMAND, clusterd: ours, pm2: theirs },
  )}`,
);
