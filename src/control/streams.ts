// The commands that keep their connection and stream to it: `logs --follow` (the apps' output) and
// `events` (what the root logs, as objects). connection.ts sends what they give and disconnects a client
// that falls behind.
import type { LogEvents } from '../log/events.js';
import { FLEET_KEEP_MS, type FleetSample, onlyApp } from '../supervisor/fleet.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { CONTROL_VERSION, type Reply, type Request } from './protocol.js';
import type { Answer } from './replies.js';

/** Most recent lines a `logs` request may ask for. */
const MAX_LINES = 10_000;

type Id = Request['id'];

/** `logs`: the recent lines, then with `follow` the live output of one app or all. */
export function answerLogs(request: Extract<Request, { cmd: 'logs' }>, supervisor: Supervisor): Answer {
  // An unknown app is refused (CLUSTERD_ERR_UNKNOWN_APP).
  const runners = supervisor.select(request.app);
  const count = Math.min(request.lines ?? 50, MAX_LINES);
  const lines = runners.flatMap((r) => r.output.lines(count));
  const { id } = request;
  if (!request.follow) return { reply: { v: CONTROL_VERSION, id, ok: true, result: { lines } } };
  const output = (line: string): Reply => ({ v: CONTROL_VERSION, id, output: line });
  const subscribe = (send: (reply: Reply) => void) => {
    const listener = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) send(output(line));
    };
    // Each unsubscribe finds the listener where it is now: a restart moves it to the app's new runner.
    const unsubscribes = runners.map((r) => r.output.follow(listener));
    return () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  };
  return { follow: { id, what: 'logs --follow', first: lines.map(output), subscribe } };
}

/** `events`: every event the root logs from now on (about one app: those that name it). */
export function answerEvents(
  request: Extract<Request, { cmd: 'events' }>,
  supervisor: Supervisor,
  events: LogEvents,
): Answer {
  const { app, id } = request;
  if (app !== undefined) supervisor.select(app);
  const subscribe = (send: (reply: Reply) => void) =>
    events.subscribe((event) => {
      if (app === undefined || event.app === app) send({ v: CONTROL_VERSION, id: id as Id, event });
    });
  return { follow: { id, what: 'events', first: [], subscribe } };
}

/** The most a `monitor` request may ask of the kept samples (s). */
export const MAX_HISTORY_S = FLEET_KEEP_MS / 1000;
/**
 * The bytes of kept samples a `monitor` client is sent first, at most: well under what a connection may
 * hold unsent (MAX_PENDING_OUTPUT), so a large fleet gets fewer of them, never a disconnection.
 */
export const MONITOR_FIRST_BYTES = 384 * 1024;

/** `monitor`: the kept samples and recent events, then each new sample and event (of one app, or all). */
export function answerMonitor(
  request: Extract<Request, { cmd: 'monitor' }>,
  supervisor: Supervisor,
  events: LogEvents,
): Answer {
  const { app, id } = request;
  if (app !== undefined) supervisor.select(app);
  const since = Date.now() - (request.history ?? 120) * 1000;
  const samples = supervisor.fleet.history(since).map((s) => onlyApp(s, app));
  const sample = (s: FleetSample): Reply => ({ v: CONTROL_VERSION, id: id as Id, sample: s });
  // The newest samples that fit the budget (at least the newest one).
  const first: Reply[] = [];
  let bytes = 0;
  for (let i = samples.length - 1; i >= 0; i--) {
    const reply = sample(samples[i] as FleetSample);
    bytes += Buffer.byteLength(JSON.stringify(reply)) + 1;
    if (bytes > MONITOR_FIRST_BYTES && first.length > 0) break;
    first.unshift(reply);
  }
  const mine = (e: { app?: string }) => app === undefined || e.app === app;
  for (const event of events.recent().filter(mine)) first.push({ v: CONTROL_VERSION, id: id as Id, event });
  const subscribe = (send: (reply: Reply) => void) => {
    const stopSamples = supervisor.fleet.subscribe((s) => send(sample(onlyApp(s, app))));
    const stopEvents = events.subscribe((event) => {
      if (mine(event)) send({ v: CONTROL_VERSION, id: id as Id, event });
    });
    return () => {
      stopSamples();
      stopEvents();
    };
  };
  return { follow: { id, what: 'monitor', first, subscribe } };
}
