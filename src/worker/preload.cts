// Loaded into every worker with `--require` (before the app, CommonJS or ESM), so that an app with no
// shutdown code of its own still drains without errors:
// - once draining, every response that has not sent its headers yet says `Connection: close`, and so does
//   any request that arrives later on a kept-alive connection: the client closes it after the response;
// - server.close() (node:cluster calls it to stop accepting) does not destroy idle keep-alive sockets
//   while draining (Node >= 19 does by default): a client may be sending its next request on one at that
//   very moment, and would get a reset. Idle sockets end by the client, by the next response's
//   `Connection: close`, or by the server's keep-alive timeout, as they always do.
// The app's own code is not changed. `clusterd/worker` (ready, onShutdown) shares the state below.
import http = require('node:http');
import https = require('node:https');

import workerState = require('./state.cjs');

function closeAfter(res: { headersSent: boolean; setHeader(name: string, value: string): unknown }): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}

function track(res: http.ServerResponse): void {
  if (workerState.draining) closeAfter(res);
  workerState.active.add(res);
  const done = () => workerState.active.delete(res);
  res.once('finish', done);
  res.once('close', done);
}

for (const Server of [http.Server, https.Server]) {
  const proto = Server.prototype as http.Server & { emit: (...args: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: http.Server, event: unknown, ...args: unknown[]) {
    if (event === 'request') track(args[1] as http.ServerResponse);
    return emit.call(this, event, ...args);
  } as typeof proto.emit;
  const closeIdle = proto.closeIdleConnections;
  proto.closeIdleConnections = function (this: http.Server) {
    if (!workerState.draining) closeIdle.call(this);
  };
}

process.on('message', (message: unknown) => {
  if ((message as { clusterd?: unknown } | null)?.clusterd !== 'drain' || workerState.draining) return;
  workerState.draining = true;
  for (const res of workerState.active) closeAfter(res);
});
