// A worker of bench/messages.ts: socket.io with the real `@socket.io/cluster-adapter`, whose messages go
// through the primary (clusterd's relay, or the package's own `setupPrimary()` in bench/apps/
// bare-sio-primary.cjs). It serves "hello" on any path, and two loads that one request starts on every
// worker (the request's worker tells the others with `io.serverSideEmit('start', ...)`, through the
// primary like everything else):
// - GET /burst?count=N: every worker sends N `io.serverSideEmit('tick', payload)` as fast as its channel
//   to the primary takes them (no more than HIGH writes waiting), and counts the ticks it gets from the
//   others; the answer, once every worker has sent all of its and received all of the others', or after
//   30 s: { ms, received (summed over the workers), sent, workers }.
// - GET /flow?ms=T&rate=R: every worker sends R ticks a second for T ms (R * T / 1000 in all, paced by the clock every 10 ms); the
//   answer, 0.2 s after that: the same fields.
// WORKERS (env) is how many workers the app has.
const http = require('node:http');
const { createAdapter } = require('@socket.io/cluster-adapter');
const { Server } = require('socket.io');

const WORKERS = Number(process.env.WORKERS ?? 4);
const HIGH = 256;
const PAYLOAD = { kind: 'invalidate', key: 'user:1234:profile', text: 'x'.repeat(64) };

// The channel's unwritten messages: the adapter ignores what process.send returns, so its sends are
// counted here (the callback runs once a message is written to the channel).
let pending = 0;
let drained = null;
const send = process.send.bind(process);
process.send = (message, handle, options, callback) => {
  pending += 1;
  const cb = typeof options === 'function' ? options : callback;
  const done = (error) => {
    pending -= 1;
    if (drained && pending <= HIGH / 2) {
      const resolve = drained;
      drained = null;
      resolve();
    }
    if (typeof cb === 'function') cb(error);
  };
  return typeof options === 'function' ? send(message, handle, done) : send(message, handle, options, done);
};
const room = () => (pending > HIGH ? new Promise((resolve) => (drained = resolve)) : null);

const server = http.createServer(onRequest);
const io = new Server(server, { adapter: createAdapter(), serveClient: false });

/** The load under way: its id, ticks received from the others, and when this worker has done its part. */
let load = { id: '', received: 0, sent: 0, sending: false, expected: 0 };
/** The request that started a load, on its worker: the answers of every worker. */
let coordinator = null;

function maybeDone() {
  if (load.sending || load.received < load.expected) return;
  const report = { id: load.id, received: load.received, sent: load.sent };
  if (coordinator?.id === load.id) coordinator.report(report);
  else io.serverSideEmit('done', report);
  load.expected = Number.POSITIVE_INFINITY; // once
}

async function start({ id, count, ms, rate }) {
  load = { id, received: 0, sent: 0, sending: true, expected: count ? (WORKERS - 1) * count : 0 };
  const tick = { ...PAYLOAD, id };
  if (count) {
    for (let i = 0; i < count; i++) {
      io.serverSideEmit('tick', tick);
      load.sent += 1;
      const wait = room();
      if (wait) await wait;
    }
  } else {
    // Paced by the clock, not by the timer's turns: a late turn sends what is owed by then.
    const began = Date.now();
    const total = Math.floor((rate * ms) / 1000);
    while (load.sent < total) {
      const owed = Math.min(total, Math.floor((rate * (Date.now() - began)) / 1000));
      for (; load.sent < owed; load.sent += 1) io.serverSideEmit('tick', tick);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // What arrives later than 0.2 s after the end is not waited for.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  load.sending = false;
  maybeDone();
}

io.on('tick', (tick) => {
  if (tick.id !== load.id) return;
  load.received += 1;
  if (load.received === load.expected) maybeDone();
});
io.on('start', (params) => void start(params));
io.on('done', (report) => {
  if (coordinator?.id === report.id) coordinator.report(report);
});

function onRequest(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/burst' && url.pathname !== '/flow') return res.end('hello\n');
  const params = {
    id: `${process.pid}-${Date.now()}`,
    count: Number(url.searchParams.get('count') ?? 0),
    ms: Number(url.searchParams.get('ms') ?? 0),
    rate: Number(url.searchParams.get('rate') ?? 0),
  };
  const began = performance.now();
  const reports = [];
  const finish = () => {
    clearTimeout(timer);
    coordinator = null;
    const ms = performance.now() - began;
    const sum = (k) => reports.reduce((a, r) => a + r[k], 0);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ms, received: sum('received'), sent: sum('sent'), workers: reports.length }));
  };
  const timer = setTimeout(finish, 30_000 + params.ms);
  coordinator = {
    id: params.id,
    report(r) {
      reports.push(r);
      if (reports.length === WORKERS) finish();
    },
  };
  io.serverSideEmit('start', params);
  void start(params);
}

server.listen(Number(process.env.PORT), '127.0.0.1');
