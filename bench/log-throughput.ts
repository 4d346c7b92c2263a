// Log throughput: lines/s of an app that logs as fast as it can, run bare (stdout to a pipe), under
// clusterd (JSON and pretty output, stdout to a pipe) and under PM2 cluster mode (its log file, PM2's
// only output). Timed from the app's first line to its last, so start-up is not counted. Rounds are
// interleaved; medians are reported.
// Run: npm run build && node bench/log-throughput.ts [rounds] [lines]
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTERD, median, ROOT, table, tempConfig, writeResult } from './lib.ts';
import { pm2 } from './pm2.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const LINES = Number(process.argv[3] ?? 200_000);
const APP = join(ROOT, 'bench/apps/chatty.cjs');

type Mode = 'bare' | 'json' | 'pretty' | 'pm2';

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
    cli.run(
      ['start', APP, '-i', '1', '--name', 'chatty', '--no-autorestart', '--merge-logs', '-o', out, '-e', out],
      {
        LINES: String(LINES),
      },
    );
    const done = `done ${LINES} lines`;
    let first = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1)) {
      const size = (() => {
        try {
          return statSync(out).size;
        } catch {
          return 0;
        }
      })();
      if (size > 0 && !first) first = performance.now();
      if (size >= LINES * 90 && tail(out, size, 200).includes(done)) {
        return LINES / ((performance.now() - first) / 1000);
      }
    }
    throw new Error('pm2: the last line never reached the log file');
  } finally {
    cli.kill();
  }
}

function run(mode: Mode): Promise<number> {
  if (mode === 'pm2') return runPm2();
  const env = { ...process.env, LINES: String(LINES) };
  const child =
    mode === 'bare'
      ? spawn(process.execPath, [APP], { env, stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(
          process.execPath,
          [
            CLUSTERD,
            'start',
            '--log-format',
            mode,
            tempConfig({
              apps: [
                { name: 'chatty', script: APP, instances: 1, env: { LINES }, restart: { policy: 'never' } },
              ],
            }).file,
          ],
          { env, stdio: ['ignore', 'pipe', 'inherit'] },
        );
  // A consumer as cheap as possible (bytes, not strings), so it measures the producer, not itself.
  let first = 0;
  let bytes = 0;
  const start = Buffer.from('line 0 ');
  const done = Buffer.from(`done ${LINES} lines`);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!first && chunk.includes(start)) first = performance.now();
      bytes += chunk.length;
      if (chunk.includes(done)) {
        const seconds = (performance.now() - first) / 1000;
        // Every line arrived: at least ~90 bytes each.
        if (bytes < LINES * 90) reject(new Error(`${mode}: only ${bytes} bytes for ${LINES} lines`));
        resolve(LINES / seconds);
      }
    });
    child.on('exit', (code) => code !== 0 && reject(new Error(`${mode} exited with ${code}`)));
  });
}

const results: Record<Mode, number[]> = { bare: [], json: [], pretty: [], pm2: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['bare', 'json', 'pretty', 'pm2'] as const) results[mode].push(await run(mode));
}
const rate = (m: Mode) => Math.round(median(results[m]));
const result = {
  rounds: ROUNDS,
  lines: LINES,
  linesPerSecond: { bare: rate('bare'), json: rate('json'), pretty: rate('pretty'), pm2: rate('pm2') },
};
console.log(
  table([
    ['', 'lines/s', 'ratio to bare', 'clusterd JSON / this'],
    ['bare app, stdout to a pipe', rate('bare'), '1.00', (rate('json') / rate('bare')).toFixed(2)],
    ['clusterd, JSON lines', rate('json'), (rate('json') / rate('bare')).toFixed(2), '1.00'],
    ['clusterd, pretty lines', rate('pretty'), (rate('pretty') / rate('bare')).toFixed(2), '-'],
    [
      'PM2 cluster mode, to its log file',
      rate('pm2'),
      (rate('pm2') / rate('bare')).toFixed(2),
      (rate('json') / rate('pm2')).toFixed(2),
    ],
  ]),
);
console.log(
  `\n${ROUNDS} rounds of ${LINES} lines, medians; written to ${writeResult('log-throughput', result)}`,
);
