// Log throughput: lines/s of an app that logs as fast as it can, run bare (stdout to a pipe) and under
// clusterd (JSON and pretty output, stdout to a pipe). Timed from the app's first line to its last,
// so start-up is not counted. Rounds are interleaved; medians are reported.
// Run: npm run build && node bench/log-throughput.ts [rounds] [lines]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLUSTERD, median, ROOT, table, tempConfig, writeResult } from './lib.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const LINES = Number(process.argv[3] ?? 200_000);
const APP = join(ROOT, 'bench/apps/chatty.cjs');

type Mode = 'bare' | 'json' | 'pretty';

function run(mode: Mode): Promise<number> {
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

const results: Record<Mode, number[]> = { bare: [], json: [], pretty: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['bare', 'json', 'pretty'] as const) results[mode].push(await run(mode));
}
const rate = (m: Mode) => Math.round(median(results[m]));
const result = {
  rounds: ROUNDS,
  lines: LINES,
  linesPerSecond: { bare: rate('bare'), json: rate('json'), pretty: rate('pretty') },
};
console.log(
  table([
    ['', 'lines/s', 'ratio to bare'],
    ['bare app, stdout to a pipe', rate('bare'), '1.00'],
    ['clusterd, JSON lines', rate('json'), (rate('json') / rate('bare')).toFixed(2)],
    ['clusterd, pretty lines', rate('pretty'), (rate('pretty') / rate('bare')).toFixed(2)],
  ]),
);
console.log(
  `\n${ROUNDS} rounds of ${LINES} lines, medians; written to ${writeResult('log-throughput', result)}`,
);
