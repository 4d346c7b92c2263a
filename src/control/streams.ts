// The commands that keep their connection and stream to it: `logs --follow` (the apps' output) and
// `events` (what the root logs, as objects). connection.ts sends what they give and disconnects a client
// that falls behind.
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import type { LogEvents } from '../log/events.js';
import type { AppRunner } from '../supervisor/app-runner.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Answer } from './commands.js';
import { CONTROL_VERSION, type Reply, type Request } from './protocol.js';

/** Most recent lines a `logs` request may ask for. */
const MAX_LINES = 10_000;

type Id = Request['id'];

export function unknownApp(supervisor: Supervisor, name: string): ClusterdError {
  const apps = supervisor.apps.map((r) => r.app.name).join(', ');
  return new ClusterdError(ErrorCode.UNKNOWN_APP, `no app named "${name}" (apps: ${apps})`, ExitCode.FAILURE);
}

function runnersOf(supervisor: Supervisor, app: string | undefined): AppRunner[] {
  if (app === undefined) return supervisor.apps;
  const runner = supervisor.runner(app);
  if (!runner) throw unknownApp(supervisor, app);
  return [runner];
}

/** `logs`: the recent lines, then with `follow` the live output of one app or all. */
export function answerLogs(request: Extract<Request, { cmd: 'logs' }>, supervisor: Supervisor): Answer {
  const runners = runnersOf(supervisor, request.app);
  const count = Math.min(request.lines ?? 50, MAX_LINES);
  const lines = runners.flatMap((r) => r.output.lines(count));
  const { id } = request;
  if (!request.follow) return { reply: { v: CONTROL_VERSION, id, ok: true, result: { lines } } };
  const output = (line: string): Reply => ({ v: CONTROL_VERSION, id, output: line });
  const subscribe = (send: (reply: Reply) => void) => {
    const listener = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) send(output(line));
    };
    for (const r of runners) r.output.followers.add(listener);
    return () => {
      for (const r of runners) r.output.followers.delete(listener);
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
  if (app !== undefined) runnersOf(supervisor, app);
  const subscribe = (send: (reply: Reply) => void) =>
    events.subscribe((event) => {
      if (app === undefined || event.app === app) send({ v: CONTROL_VERSION, id: id as Id, event });
    });
  return { follow: { id, what: 'events', first: [], subscribe } };
}
