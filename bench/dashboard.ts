// The dashboard's cost to clusterd: CPU of the root and of the app's primary (utime + stime from
// /proc/<pid>/stat) over a window, with the dashboard on and no one watching, and with one headless
// chromium page open on it (which makes the root sample the fleet each second and stream it), at 4 and
// at 16 workers of one idle app. Rounds are interleaved.
// Run: npm run bench:dashboard [rounds] [seconds]   (needs chromium at /usr/bin/chromium)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { median, ROOT, startClusterd, stop, table, tempConfig, writeResult } from './lib.ts';

const ROUNDS = Number(process.argv[2] ?? 1);
const WINDOW_S = Number(process.argv[3] ?? 20);
const WORKERS = [4, 16];
const TICKS_PER_S = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

async function run(workers: number, watched: boolean) {
  const { file } = tempConfig({
    health: { port: 0, dashboard: true },
    apps: [{ name: 'app', script: join(ROOT, 'bench/apps/hello.cjs'), instances: workers, env: { PORT: 0 } }],
  });
  const { child, events } = await startClusterd(file, (e) => e.to === 'running');
  const health = String(events.find((e) => typeof e.health === 'string')?.health);
  const primary = events.find((e) => typeof e.primary === 'number')?.primary as number;
  const root = child.pid as number;
  const page = watched ? await browser.newPage() : null;
  if (page) {
    await page.goto(`http://${health}/dashboard/`);
    await page.locator('body[data-samples]:not([data-samples="0"])').waitFor({ state: 'attached' });
  }
  await sleep(1_000);
  const before = { root: cpuTicks(root), primary: cpuTicks(primary) };
  await sleep(WINDOW_S * 1_000);
  const result = {
    rootPercent: ((cpuTicks(root) - before.root) / TICKS_PER_S / WINDOW_S) * 100,
    primaryPercent: ((cpuTicks(primary) - before.primary) / TICKS_PER_S / WINDOW_S) * 100,
  };
  await page?.close();
  await stop(child);
  return result;
}

type Sample = Awaited<ReturnType<typeof run>>;
const results = new Map<string, Sample[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const workers of WORKERS) {
    for (const watched of [false, true]) {
      const key = `${workers}|${watched}`;
      results.set(key, [...(results.get(key) ?? []), await run(workers, watched)]);
    }
  }
}
await browser.close();

const rows: (string | number)[][] = [];
const summary: Record<string, { rootPercent: number; primaryPercent: number }> = {};
for (const workers of WORKERS) {
  for (const watched of [false, true]) {
    const samples = results.get(`${workers}|${watched}`) ?? [];
    const root = +median(samples.map((s) => s.rootPercent)).toFixed(2);
    const primary = +median(samples.map((s) => s.primaryPercent)).toFixed(2);
    const label = `${workers} workers, ${watched ? 'one page open' : 'no browser'}`;
    summary[label] = { rootPercent: root, primaryPercent: primary };
    rows.push([label, root, primary]);
  }
}
console.log(table([['', 'root CPU (% of a core)', 'primary CPU (% of a core)'], ...rows]));
console.log(`\n${ROUNDS} round(s), ${WINDOW_S} s each; written to ${writeResult('dashboard', summary)}`);
