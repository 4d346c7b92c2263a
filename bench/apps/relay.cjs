// The cheapest relay Node.js can be: runs the command in its arguments with stdout to a pipe and copies
// that pipe's chunks to its own stdout as they come, pausing while its stdout is backed up. No lines, no
// tags: bench/log-throughput.ts puts the bare app behind one or two of these (modes relay1, relay2) for
// the cost of the hops alone, a lower bound for clusterd's worker -> primary -> root.
const { spawn } = require('node:child_process');

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', (chunk) => {
  if (!process.stdout.write(chunk)) {
    child.stdout.pause();
    process.stdout.once('drain', () => child.stdout.resume());
  }
});
child.on('exit', (code) => {
  process.exitCode = code ?? 1;
});
