// How long a worker lives. node:cluster's IPC channel keeps every worker alive forever, so a worker whose
// work is done (a job, a batch, a consumer whose queue closed) never ends. Here the channel holds the
// worker only while node:cluster needs it, and the worker otherwise lives by its own handles, as
// `node script.js` does:
// - while a server or socket asks the primary for its handle (`cluster._getServer`: listen, dgram bind),
//   the answer comes over the channel;
// - while a server listens through the primary (round-robin), its connections come over the channel: its
//   handle in the worker is a stand-in that keeps nothing alive;
// - while the worker drains, until clusterd disconnects it (its onShutdown handlers run then).
// The channel is unref'd explicitly, which sticks when listeners are added later. Should node:cluster
// ever lose `_getServer`, nothing is changed: the worker lives as long as its channel, as before.
import net = require('node:net');

import workerState = require('./state.cjs');

type GetServer = (
  obj: unknown,
  options: unknown,
  cb: (error: unknown, ...rest: unknown[]) => unknown,
) => unknown;
const cluster = require('node:cluster') as { _getServer?: GetServer };

let holds = 0;
/** Servers listening through node:cluster (round-robin, least-connections, sticky) until they close. */
const servers = new Set<net.Server>();

function update(): void {
  if (holds > 0 || workerState.isDraining()) process.channel?.ref();
  else process.channel?.unref();
}

/** The worker's drain has begun (state.cts): the channel holds it until the primary disconnects it. */
function drain(): void {
  update();
}

const getServer = cluster._getServer;
if (typeof getServer === 'function' && process.channel) {
  cluster._getServer = function (this: unknown, obj, options, cb) {
    holds += 1;
    update();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      holds -= 1;
      update();
    };
    return getServer.call(this, obj, options, (error, ...rest) => {
      if (!error && obj instanceof net.Server) {
        servers.add(obj);
        obj.once('close', () => {
          servers.delete(obj);
          release();
        });
      } else release();
      return cb(error, ...rest);
    });
  };
  update();
}

export = { drain, servers };
