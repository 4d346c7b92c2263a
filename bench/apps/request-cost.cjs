// The server of bench/request-cost.ts: a "hello" server with the preload's request tracking as it is in
// every worker (one diagnostics_channel subscriber, one shared 'close' listener per response), and, with
// `on`, the request metrics' recorder (dist/worker/requests.cjs) called from them as the preload calls
// it; `off` is what `requestMetrics: false` leaves. Run under callgrind, so the two differ only by the
// recorder's instructions. Args: on|off PORT.
const diagnostics = require('node:diagnostics_channel');
const http = require('node:http');
const { join } = require('node:path');

const [mode, port] = process.argv.slice(2);
process.env.NODE_APP_INSTANCE = '0';
const recorder = require(join(__dirname, '../../dist/worker/requests.cjs'))(mode === 'on');
const active = new Set();
function untrack() {
  active.delete(this);
  recorder?.ended(this);
}
diagnostics.subscribe('http.server.request.start', ({ response }) => {
  active.add(response);
  recorder?.started(response);
  response.on('close', untrack);
});
http
  .createServer((_req, res) => res.end('hello\n'))
  .listen(Number(port), '127.0.0.1', () => console.log('listening'));
