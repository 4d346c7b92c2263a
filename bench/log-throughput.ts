// Log throughput: lines/s of an app that logs as fast as it can, run bare (stdout to a pipe), under
// clusterd (JSON and pretty output, stdout to a pipe; then also to `logs.file`, without and with
// `logs.timestamp`) and under PM2 cluster mode (its log file, PM2's only output). Timed from the app's
// first line to its last (with a log file, to its last line in the file too), so start-up is not
// counted. Rounds are interleaved; medians are reported. `json-shared`: the app under a shared primary
// (`primaryGroup`), whose workers' lines reach the root over its IPC channel instead of a pipe. Beside
// lines/s, the CPU each process of the chain spent per line over the same span (all its threads, from
// /proc/PID/task/*/schedstat; the reader is this process): on a shared machine a steadier figure than
// lines/s. Not run by default: `relay1` and `relay2`, the bare app behind one or two trivial Node.js
// relays (bench/apps/relay.cjs: chunks copied as they come, no lines, no tags), the cost of clusterd's
// two hops alone, a lower bound for its rate.
// Run: npm run build && node bench/log-throughput.ts [rounds] [lines] [modes, comma-separated]
//      e.g. node bench/log-throughput.ts 5 200000 bare,relay1,relay2,json,pretty
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTERD, descendants, median, ROOT, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const LINES = Number(process.argv[3] ?? 200_000);
const APP = join(ROOT, 'bench/apps/chatty.cjs');

/** clusterd's runs: its output format, and the app's `logs` (a file, with or without timestamps). */
const CLUSTERD_MODES = {
  json: { format: 'json', logs: null },
  pretty: { format: 'pretty', logs: null },
  file: { format: 'json', logs: {} },
  stamped: { format: 'json', logs: { timestamp: true } },
  'stamped-format': { format: 'json', logs: { timestamp: 'YYYY-MM-DD HH:mm:ss.SSS Z' } },
  'pretty-file': { format: 'pretty', logs: {} },
  'pretty-stamped': { format: 'pretty', logs: { timestamp: true } },
  // The app under a shared primary (`primaryGroup`): its lines reach the root as IPC messages.
  'json-shared': { format: 'json', logs: null, group: 'g' },
} as const satisfies Record<string, { format: string; logs: object | null; group?: string }>;
const RELAY = join(ROOT, 'bench/apps/relay.cjs');
const MODES = ['bare', ...Object.keys(CLUSTERD_MODES), 'pm2'] as Mode[];
const OPTIONAL = ['relay1', 'relay2'] as Mode[];
type Mode = 'bare' | 'relay1' | 'relay2' | keyof typeof CLUSTERD_MODES | 'pm2';
const chosen = (process.argv[4]?.split(',') ?? MODES) as Mode[];
for (const mode of chosen)
  if (!MODES.includes(mode) && !OPTIONAL.includes(mode))
    throw new Error(`unknown mode ${mode}: ${[...MODES, ...OPTIONAL].join(', ')}`);

/** The last `bytes` bytes of a file. */
function tail(file: string, size: number, bytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** PM2 writes an app's output to a log file: timed from its first bytes there to the last line. */
async function runPm2(): Promise<number> {
  const cli = pm2();
  const out = join(cli.home, 'chatty.log');
  try {
    // Not cli.run: the app can start writing before `pm2 start` has returned (it prints a table after
    // it starts the app), and a synchronous command would stop this poll meanwhile, timing the first
    // bytes late (by up to 150 ms, of about 1 s).
    const args = ['start', APP, '-i', '1', '--name', 'chatty', '--no-autorestart', '--merge-logs'];
    let failed: unknown;
    const command = cli.runAsync([...args, '-o', out, '-e', out], { LINES: String(LINES) }).catch((error) => {
      failed = error ?? new Error('pm2 start failed');
    });
    const done = `done ${LINES} lines`;
    let first = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1)) {
      if (failed) throw failed;
      const size = (() => {
        try {
          return statSync(out).size;
        } catch {
          return 0;
        }
      })();
      if (size > 0 && !first) first = performance.now();
      if (size >= LINES * 90 && tail(out, size, 200).includes(done)) {
        const rate = LINES / ((performance.now() - first) / 1000);
        await command;
        if (failed) throw failed;
        return rate;
      }
    }
    throw new Error('pm2: the last line never reached the log file');
  } finally {
    cli.kill();
  }
}

/** Resolves once `file` ends with the app's last line. */
async function fileDone(file: string, done: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(1)) {
    const size = (() => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    })();
    if (size >= LINES * 90 && tail(file, size, 300).includes(done)) return;
  }
  throw new Error(`the last line never reached ${file}`);
}

/** CPU time (ns) of every thread of `pid` so far; 0 once it is gone. */
function processCpuNs(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns;
  } catch {
    return 0;
  }
}

/** The part a process plays in the chain, from its command line. */
function role(pid: number, root: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (command.includes('chatty.cjs') && !command.includes('relay.cjs')) return 'app';
    if (command.includes('relay.cjs')) return 'relays';
    if (command.includes('primary')) return 'primary';
    return pid === root ? 'root' : 'other';
  } catch {
    return 'other';
  }
}

const ROLES = ['app', 'primary', 'root', 'relays', 'reader'] as const;
type Cpu = Partial<Record<(typeof ROLES)[number], number>>;

/** Starts sampling the CPU of `root`'s tree and of this process; the result is ns per line by role. */
function cpuSpan(root: number): () => Cpu {
  const tree = [root, ...descendants(root)].map((pid) => ({
    pid,
    role: role(pid, root),
    ns: processCpuNs(pid),
  }));
  const reader = process.threadCpuUsage();
  return () => {
    const cpu: Record<string, number> = {};
    for (const { pid, role, ns } of tree) {
      const spent = processCpuNs(pid) - ns;
      // A process gone by now (an app that exited) is left out rather than counted negative.
      if (spent > 0 && role !== 'other') cpu[role] = (cpu[role] ?? 0) + spent / LINES;
    }
    const self = process.threadCpuUsage(reader);
    cpu.reader = ((self.user + self.system) * 1000) / LINES;
    return cpu;
  };
}

async function run(mode: Mode): Promise<{ rate: number; cpu: Cpu }> {
  if (mode === 'pm2') return { rate: await runPm2(), cpu: {} };
  const env = { ...process.env, LINES: String(LINES) };
  let file: string | null = null;
  let child: ReturnType<typeof spawn>;
  if (mode === 'bare') child = spawn(process.execPath, [APP], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  else if (mode === 'relay1' || mode === 'relay2') {
    const hops = mode === 'relay1' ? [RELAY] : [RELAY, process.execPath, RELAY];
    child = spawn(process.execPath, [...hops, process.execPath, APP], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } else {
    const settings: { format: string; logs: object | null; group?: string } = CLUSTERD_MODES[mode];
    const { format, logs } = settings;
    const app = {
      name: 'chatty',
      script: APP,
      instances: 1,
      env: { LINES },
      restart: { policy: 'never' },
      ...(settings.group ? { primaryGroup: settings.group } : {}),
    };
    const config = tempConfig({
      apps: [logs ? { ...app, logs: { file: 'chatty.log', maxSize: '1GB', ...logs } } : app],
    });
    if (logs) file = join(config.dir, 'chatty.log');
    child = spawn(process.execPath, [CLUSTERD, 'start', '--log-format', format, config.file], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  }
  // A consumer as cheap as possible (bytes, not strings), so it measures the producer, not itself.
  let first = 0;
  let span: (() => Cpu) | null = null;
  let bytes = 0;
  const start = Buffer.from('line 0 ');
  const done = Buffer.from(`done ${LINES} lines`);
  return new Promise<{ rate: number; cpu: Cpu }>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!first && chunk.includes(start)) {
        first = performance.now();
        span = child.pid ? cpuSpan(child.pid) : null;
      }
      bytes += chunk.length;
      if (chunk.includes(done)) {
        const cpu = span?.() ?? {};
        // Every line arrived: at least ~90 bytes each.
        if (bytes < LINES * 90) reject(new Error(`${mode}: only ${bytes} bytes for ${LINES} lines`));
        const rate = () => ({ rate: LINES / ((performance.now() - first) / 1000), cpu });
        // The file is removed once read: rounds of 200,000 lines would fill /tmp.
        if (file)
          fileDone(file, done.toString())
            .then(() => resolve(rate()), reject)
            .finally(() => rmSync(join(file, '..'), { recursive: true, force: true }));
        else resolve(rate());
      }
    });
    child.on('exit', (code) => code !== 0 && reject(new Error(`${mode} exited with ${code}`)));
  });
}

const results = Object.fromEntries(chosen.map((mode) => [mode, [] as number[]])) as Record<Mode, number[]>;
const cpus = Object.fromEntries(chosen.map((mode) => [mode, [] as Cpu[]])) as Record<Mode, Cpu[]>;
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of chosen) {
    const { rate, cpu } = await run(mode);
    results[mode].push(rate);
    cpus[mode].push(cpu);
  }
}
/** Median ns of CPU per line of a role in a mode, over the rounds that measured it. */
const cpuOf = (mode: Mode, r: (typeof ROLES)[number]) => {
  const values = cpus[mode].map((c) => c[r]).filter((v): v is number => v !== undefined);
  return values.length ? Math.round(median(values)) : null;
};
const rate = (m: Mode) => (results[m] ? Math.round(median(results[m])) : Number.NaN);
const result = {
  rounds: ROUNDS,
  lines: LINES,
  linesPerSecond: Object.fromEntries(chosen.map((mode) => [mode, rate(mode)])),
  cpuNsPerLine: Object.fromEntries(
    chosen.map((mode) => [mode, Object.fromEntries(ROLES.map((r) => [r, cpuOf(mode, r)]))]),
  ),
};
const LABELS: Record<Mode, string> = {
  bare: 'bare app, stdout to a pipe',
  relay1: 'bare app behind a trivial Node.js relay',
  relay2: 'bare app behind two trivial relays',
  json: 'clusterd, JSON lines',
  pretty: 'clusterd, pretty lines',
  file: 'clusterd, JSON lines, and logs.file',
  stamped: 'clusterd, JSON, logs.file, timestamp: true',
  'stamped-format': 'clusterd, JSON, logs.file, timestamp: "YYYY-MM-DD HH:mm:ss.SSS Z"',
  'pretty-file': 'clusterd, pretty lines, and logs.file',
  'pretty-stamped': 'clusterd, pretty, logs.file, timestamp: true',
  'json-shared': 'clusterd, JSON lines, a shared primary (primaryGroup)',
  pm2: 'PM2 cluster mode, to its log file',
};
const ratio = (a: number, b: number) => (Number.isNaN(a / b) ? '-' : (a / b).toFixed(2));
console.log(
  table([
    ['', 'lines/s', 'ratio to bare', 'clusterd JSON / this'],
    ...chosen.map((mode) => [
      LABELS[mode],
      rate(mode),
      ratio(rate(mode), rate('bare')),
      ratio(rate('json'), rate(mode)),
    ]),
  ]),
);
console.log('\nCPU per line (ns, all threads, first line to last):');
console.log(
  table([
    ['', ...ROLES],
    ...chosen
      .filter((m) => m !== 'pm2')
      .map((mode) => [LABELS[mode], ...ROLES.map((r) => cpuOf(mode, r) ?? '-')]),
  ]),
);
console.log(
  `\n${ROUNDS} rounds of ${LINES} lines, medians; written to ${writeResult('log-throughput', result)}`,
);
