// The baseline users have today for an app's metrics under node:cluster: a bare primary (as
// bare-cluster.cjs) with prom-client's cluster mode, AggregatorRegistry.clusterMetrics() served on
// METRICS_PORT of the primary. Its workers must construct an AggregatorRegistry too (PROM_CLUSTER=1 for
// hello-metrics.cjs), or they never answer.
const cluster = require('node:cluster');
const http = require('node:http');
const { AggregatorRegistry } = require('prom-client');

const workers = Number(process.env.WORKERS ?? 2);
const registry = new AggregatorRegistry();
http
  .createServer((_req, res) => {
    registry.clusterMetrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (error) => {
        res.statusCode = 500;
        res.end(`${error.message}\n`);
      },
    );
  })
  .listen(Number(process.env.METRICS_PORT), '127.0.0.1');
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
process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
