// The baseline of bench/messages.ts: a bare node:cluster primary that relays socket.io's cluster adapter
// as its docs say, with the package's own `setupPrimary()`. WORKERS workers of SCRIPT, node:cluster's
// SERIALIZATION ("json" or "advanced").
const cluster = require('node:cluster');
const { setupPrimary } = require('@socket.io/cluster-adapter');

const workers = Number(process.env.WORKERS ?? 4);
cluster.setupPrimary({ exec: process.env.SCRIPT, serialization: process.env.SERIALIZATION ?? 'json' });
setupPrimary();
let ready = 0;
for (let i = 0; i < workers; i++) {
  cluster.fork().on('listening', (address) => {
    if (++ready === workers) console.log(JSON.stringify({ ready: true, port: address.port }));
  });
}
// (cluster.disconnect() would wait for the adapters' timers: the workers are ended at once.)
process.on('SIGTERM', () => {
  for (const worker of Object.values(cluster.workers)) worker.process.kill();
  process.exit(0);
});
