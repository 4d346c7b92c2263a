// Log file write path: MB/s of the rotated log file under a per-app `logs.file` (rotate.ts, opened by
// open.ts) against rotating-file-stream, which it replaced, for lines in pipe-sized chunks, rotating at
// 10 MB with 5 files kept, with backpressure (so nothing is dropped), timed until the file is flushed.
// Rounds are interleaved; medians are reported.
// Run: npm run build && node bench/log-file.ts [rounds] [megabytes]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { openLogTarget } from '../dist/log/open.js';
import { RotatingFile } from '../dist/log/rotate.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const MEGABYTES = Number(process.argv[3] ?? 200);
const MAX_SIZE = 10 * 1024 * 1024;
const line = `{"level":30,"time":1700000000000,"app":"web","worker":0,"msg":"${'x'.repeat(40)}"}\n`;
const chunk = Buffer.from(line.repeat(Math.floor(65_536 / line.length)));

const targets: Record<string, (file: string) => Writable> = {
  clusterd: (file) => {
    const opened = openLogTarget(file);
    if (opened.kind !== 'file') throw new Error('not a file');
    return new RotatingFile(file, { maxSize: MAX_SIZE, maxFiles: 5 }, opened);
  },
  'rotating-file-stream': (file) =>
    createRequire(import.meta.url)('rotating-file-stream').createStream('app.log', {
      path: join(file, '..'),
      size: `${MAX_SIZE}B`,
      rotate: 5,
    }),
};

async function round(make: (file: string) => Writable): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-bench-'));
  try {
    const stream = make(join(dir, 'app.log'));
    const chunks = Math.ceil((MEGABYTES * 1024 * 1024) / chunk.length);
    const start = performance.now();
    for (let i = 0; i < chunks; i += 1)
      if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
    await new Promise<void>((resolve, reject) => stream.once('error', reject).end(resolve));
    return (chunks * chunk.length) / 1024 / 1024 / ((performance.now() - start) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = new Map<string, number[]>(Object.keys(targets).map((name) => [name, []]));
for (let i = 0; i < ROUNDS; i += 1)
  for (const [name, make] of Object.entries(targets)) results.get(name)?.push(await round(make));
for (const [name, values] of results) {
  values.sort((a, b) => a - b);
  const median = values[Math.floor(values.length / 2)] ?? 0;
  console.log(`${name}: median ${median.toFixed(0)} MB/s (${values.map((v) => v.toFixed(0)).join(', ')})`);
}
