// What a sweep costs: reading /proc and deciding the orphans, as the primary does after every worker
// exit. `npm run build && node bench/process-table.ts [extra processes]` starts that many `sleep` processes first.
import { spawn } from 'node:child_process';
import { descendantsOf, orphansOf } from '../dist/primary/stop/descendants.js';
import { linuxProc } from '../dist/primary/stop/descendants-proc.js';

const extra = Number(process.argv[2] ?? 0);
const children = Array.from({ length: extra }, () => spawn('sleep', ['60'], { stdio: 'ignore' }));
await new Promise((resolve) => setTimeout(resolve, 200));
const sys = linuxProc();
const rounds = 200;
let rows = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) {
  const table = sys.table() ?? [];
  rows = table.length;
  orphansOf(table, process.pid, process.pid);
  descendantsOf(table, process.pid);
}
const ms = Number(process.hrtime.bigint() - start) / 1e6 / rounds;
console.log(`${rows} processes: ${ms.toFixed(2)} ms per sweep (read /proc + decide), ${rounds} rounds`);
for (const child of children) child.kill('SIGKILL');
