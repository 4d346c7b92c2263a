// The baseline: a bare node:cluster primary of about 15 lines, forking WORKERS workers of SCRIPT and
// replacing any that dies. On SIGUSR2 it "reloads" the naive way: kill each worker, fork a new one.
const cluster = require('node:cluster');

const workers = Number(process.env.WORKERS ?? 2);
cluster.setupPrimary({ exec: process.env.SCRIPT });
let ready = 0;
for (let i = 0; i < workers; i++) {
  cluster.fork().on('listening', (address) => {
    if (++ready === workers) console.log(JSON.stringify({ ready: true, port: address.port }));
  });
}
cluster.on('exit', (worker) => {
  if (!worker.exitedAfterDisconnect) cluster.fork();
});
let generation = 0;
process.on('SIGUSR2', () => {
  const reload = ++generation;
  for (const worker of Object.values(cluster.workers)) worker.kill();
  for (let i = 0; i < workers; i++)
    cluster.fork().on('listening', () => console.log(JSON.stringify({ reload })));
});
process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
