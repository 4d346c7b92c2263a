// `readiness: "loaded"` (workers that serve no port: queue consumers, schedulers, bots): the worker is
// ready once its entry module has run. Required by the preload, which runs before the entry.
// - A CommonJS entry runs synchronously right after the preloads: the first turn of the event loop comes
//   after it.
// - An ES module entry is loaded by the ESM loader, which may take several turns (Node 22 reads files
//   asynchronously; Node 24 mostly does not): `module.import`'s tracing channel says when its evaluation
//   ended, top-level await included. An entry that fails to load is not ready: it exits instead.
import dc = require('node:diagnostics_channel');
import url = require('node:url');

import messages = require('./messages.cjs');

type ImportContext = { url?: unknown; error?: unknown };

const entry = process.argv[1] ? url.pathToFileURL(process.argv[1]).href : null;
const channel = dc.tracingChannel<unknown, ImportContext>('module.import');
let entryImport: ImportContext | null = null;

const isEntry = (context: ImportContext) => entry !== null && String(context.url) === entry;

function loaded(): void {
  channel.unsubscribe(hooks);
  process.send?.(messages.loaded);
}

const hooks = {
  start(context: ImportContext) {
    if (entryImport === null && isEntry(context)) entryImport = context;
  },
  end() {},
  asyncStart() {},
  asyncEnd(context: ImportContext) {
    if (context === entryImport && context.error === undefined) loaded();
  },
  error() {},
};
channel.subscribe(hooks);

setImmediate(() => {
  if (entryImport === null) loaded();
});
