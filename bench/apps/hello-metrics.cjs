// The hello app as real apps have it: prom-client's default metrics and a counter of requests, in the
// default registry. "hello", or its pid at /pid.
// PROM_CLUSTER=1: also constructs an AggregatorRegistry, as prom-client's cluster mode tells users to do in
// the workers: in prom-client 15 that constructor is what adds the worker's listener for the primary's
// requests (lib/cluster.js, addListeners). Under clusterd the app needs nothing of the kind.
const http = require('node:http');
const client = require('prom-client');

client.collectDefaultMetrics();
if (process.env.PROM_CLUSTER === '1') new client.AggregatorRegistry();
const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests served.',
  labelNames: ['route', 'code'],
});

http
  .createServer((req, res) => {
    const pid = req.url === '/pid';
    res.end(pid ? `${process.pid}\n` : 'hello\n');
    requests.inc({ route: pid ? '/pid' : '/', code: 200 });
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
