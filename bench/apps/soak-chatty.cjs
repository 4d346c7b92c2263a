// The soak benchmark's chatty app (bench/soak.ts): on each message `write` ({ lines, batch }) sent from
// outside (`clusterd send`, the client's `send`), writes that many lines of about 100 bytes to stdout as
// fast as the pipe takes them (waiting for 'drain'), then `soak-batch <batch> done`. Between batches it
// is idle, so the benchmark paces the log path by its rounds. It serves no port (`readiness: "loaded"`).
const { onMessage } = require('../../dist/worker/index.js');

const pad = 'x'.repeat(80);
let queue = Promise.resolve();
let n = 0;

function write(lines, batch) {
  return new Promise((resolve) => {
    let left = lines;
    const more = () => {
      while (left > 0) {
        left--;
        if (!process.stdout.write(`line ${n++} ${pad}\n`)) return void process.stdout.once('drain', more);
      }
      process.stdout.write(`soak-batch ${batch} done\n`, resolve);
    };
    more();
  });
}

onMessage('write', (data) => {
  queue = queue.then(() => write(Number(data.lines), Number(data.batch)));
});
// Nothing else keeps a worker that serves no port alive (its IPC channel does not).
setInterval(() => {}, 1 << 30);
