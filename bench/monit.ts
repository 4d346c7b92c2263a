// What a live terminal view costs: `clusterd monit` and `pm2 monit`, each in a real terminal (tmux,
// 200x50) beside the same app of N "hello" workers under a steady load (500 req/s, autocannon), at 4
// and 16 workers. For each: the view's own CPU, and the CPU of the manager's processes (clusterd: the
// root and the app's primary; PM2: its daemon) with the view open and without. CPU from /proc (utime +
// stime) over MEASURE_S seconds, after the view has run SETTLE_S seconds.
// Run: npm run build && node bench/monit.ts [measure seconds] (needs tmux; PM2 installed on demand)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { CLUSTERD, freePort, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';

const MEASURE_S = Number(process.argv[2] ?? 20);
const SETTLE_S = 3;
const HELLO = join(ROOT, 'bench/apps/hello.cjs');

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU of each pid over MEASURE_S, in % of one core (100 ticks a second). */
async function measure(pids: number[]): Promise<number[]> {
  const before = pids.map(cpuTicks);
  await sleep(MEASURE_S * 1_000);
  return pids.map((pid, i) => +((cpuTicks(pid) - (before[i] as number)) / MEASURE_S).toFixed(2));
}

const each = async (pids: number[]) => {
  const [a = 0, b = 0, c = 0] = await measure(pids);
  return [a, b, c] as const;
};

/** A steady load that ends by itself (after `seconds`). */
function load(port: number, seconds: number) {
  return autocannon(
    {
      url: `http://127.0.0.1:${port}/`,
      connections: 4,
      overallRate: 500,
      duration: seconds,
    },
    () => {},
  );
}

/** Runs `argv` in a private tmux server's 200x50 window; its pid, and how to end it. */
function terminal(argv: string[], env: NodeJS.ProcessEnv) {
  const socket = `clusterd-bench-monit-${process.pid}`;
  const tmux = (args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env });
  tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'b', '-x', '200', '-y', '50', ...argv]);
  const pid = Number(tmux(['display-message', '-p', '-t', 'b', '#{pane_pid}']).trim());
  return {
    pid,
    screen: () => tmux(['capture-pane', '-p', '-t', 'b']),
    kill: () => {
      try {
        tmux(['kill-server']);
      } catch {}
    },
  };
}

const span = SETTLE_S * 2 + MEASURE_S * 2 + 10;

async function clusterd(workers: number) {
  const port = await freePort();
  const { file } = tempConfig({
    apps: [{ name: 'app', script: HELLO, instances: workers, env: { PORT: port } }],
  });
  const { child, events } = await startClusterd(file, (e) => e.to === 'running');
  const root = child.pid as number;
  const primary = events.find((e) => typeof e.primary === 'number')?.primary as number;
  const traffic = load(port, span);
  try {
    await sleep(SETTLE_S * 1_000);
    const [rootOff, primaryOff] = await each([root, primary]);
    const view = terminal([process.execPath, CLUSTERD, 'monit', '--config', file], {
      ...process.env,
      TERM: 'xterm-256color',
    });
    try {
      await sleep(SETTLE_S * 1_000);
      if (!view.screen().includes(`${workers} workers`))
        throw new Error(`monit did not show the app:\n${view.screen()}`);
      const [viewCpu, rootOn, primaryOn] = await each([view.pid, root, primary]);
      return {
        view: viewCpu,
        off: +(rootOff + primaryOff).toFixed(2),
        on: +(rootOn + primaryOn).toFixed(2),
      };
    } finally {
      view.kill();
    }
  } finally {
    traffic.stop();
    await stop(child);
  }
}

async function pm2Monit(workers: number) {
  const port = await freePort();
  const p = pm2();
  try {
    p.run(['start', HELLO, '-i', String(workers), '--name', 'app'], { PORT: String(port) });
    const daemon = Number(readFileSync(join(p.home, 'pm2.pid'), 'utf8'));
    const traffic = load(port, span);
    try {
      await sleep(SETTLE_S * 1_000);
      const [off] = await each([daemon]);
      const view = terminal([process.execPath, join(ROOT, '.bench/pm2/node_modules/pm2/bin/pm2'), 'monit'], {
        ...process.env,
        PM2_HOME: p.home,
        TERM: 'xterm-256color',
      });
      try {
        await sleep(SETTLE_S * 1_000);
        const [viewCpu, on] = await each([view.pid, daemon]);
        return { view: viewCpu, off, on };
      } finally {
        view.kill();
      }
    } finally {
      traffic.stop();
    }
  } finally {
    p.kill();
  }
}

const rows: (string | number)[][] = [
  [
    'workers',
    'clusterd monit CPU %',
    'pm2 monit CPU %',
    'ratio',
    'clusterd root+primary % (closed -> open)',
    'PM2 daemon % (closed -> open)',
  ],
];
const result: Record<string, unknown> = { measureSeconds: MEASURE_S, rate: 500 };
for (const workers of [4, 16]) {
  const c = await clusterd(workers);
  const p = await pm2Monit(workers);
  result[`w${workers}`] = { clusterd: c, pm2: p };
  rows.push([
    workers,
    c.view,
    p.view,
    p.view > 0 ? +(c.view / p.view).toFixed(2) : '-',
    `${c.off} -> ${c.on}`,
    `${p.off} -> ${p.on}`,
  ]);
}
console.log(table(rows));
console.log(`\n${MEASURE_S} s measured per phase, 500 req/s; written to ${writeResult('monit', result)}`);
