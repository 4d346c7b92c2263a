// The commands that keep their connection and stream to it: `logs --follow` (the apps' output) and
// `events` (what the root logs, as objects). connection.ts sends what they give and disconnects a client
// that falls behind.
import type { LogEvents } from '../log/events.js';
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
