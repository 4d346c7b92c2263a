// The programmatic client against a running clusterd: with `npm start` running, `node examples/client.mjs`
// from the repository root (a project that depends on clusterd imports it the same way).
import { connect } from 'clusterd';

// The clusterd of the config in this directory (or connect({ config: 'path/to/config.json' })).
const clusterd = await connect();
const status = await clusterd.status();
for (const app of status.apps) console.log(`${app.name}: ${app.state}, ${app.workers.length} workers`);

// A rolling reload of every app, and its events as they happen.
const events = clusterd.events();
await events.ready; // from here on, every event is delivered
const reloaded = clusterd.reload();
let done = 0;
for await (const event of events) {
  if (event.worker !== undefined) console.log(`  ${event.app}[${event.worker}] ${event.msg}`);
  if (event.reload === 'done' || event.reload === 'failed') done += 1;
  if (done === status.apps.length) break; // leaving the loop closes the stream
}
for (const r of await reloaded) console.log(`${r.app}: ${r.replaced} workers replaced in ${r.ms} ms`);

// The last lines of output (with follow: true, the live output too, until the loop is left).
for await (const line of clusterd.logs({ lines: 3 })) console.log(line);

// Errors have codes (docs/errors.md).
try {
  await clusterd.reload('nope');
} catch (error) {
  console.log(`${error.code}: ${error.message}`);
}
