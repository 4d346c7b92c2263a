// The baseline: a bare node:cluster primary of 15 lines, forking WORKERS workers of SCRIPT.
const cluster = require('node:cluster');

const workers = Number(process.env.WORKERS ?? 2);
if (cluster.isPrimary) {
  cluster.setupPrimary({ exec: process.env.SCRIPT });
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork({ NODE_APP_INSTANCE: String(i) }).on('listening', (address) => {
      if (++ready === workers) console.log(JSON.stringify({ ready: true, port: address.port }));
    });
  }
  cluster.on('exit', (_worker, code) => code !== 0 && cluster.fork());
  process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
}
