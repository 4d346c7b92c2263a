// `clusterd profile <app> [worker] --cpu DURATION` and `clusterd heap <app> <worker>` on the socket: the
// app's primary takes it of one worker (primary/profile/) and its chunks are streamed to the client,
// which writes the file. Each chunk is acknowledged to the primary (and so to the worker) only once this
// connection's socket has taken it: a client that reads slowly holds the worker back, and no hop keeps
// more than the worker's few unacknowledged chunks (docs/monitoring.md#profiles-on-demand).
import { formatDuration } from '../config/units.js';
import { ClusterdError, ErrorCode } from '../errors.js';
import type { StreamPiece } from '../supervisor/primary-link.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { CONTROL_VERSION, type ProfileDone, type Reply, type Request } from './protocol.js';
import { type Answer, failure } from './replies.js';

/** A CPU profile's duration when none is given, and the longest one may be. */
export const DEFAULT_PROFILE_MS = 10_000;
export const MAX_PROFILE_MS = 5 * 60_000;
/** The shortest: a profile of less holds too few samples to say anything. */
export const MIN_PROFILE_MS = 100;

/** Why a `profile` or `heap` request's own fields are wrong, if they are (the app is checked before). */
export function profileProblem(r: Record<string, unknown>): string | undefined {
  if (typeof r.app !== 'string') return `${r.cmd} needs an "app"`;
  if (r.cmd === 'heap' && r.worker === undefined) return 'heap needs a "worker" (0, 1, 2...)';
  if (r.worker !== undefined && !(Number.isSafeInteger(r.worker) && (r.worker as number) >= 0))
    return '"worker" must be a worker number (0, 1, 2...)';
  if (r.cmd === 'heap' && r.durationMs !== undefined) return 'heap takes no "durationMs"';
  if (
    r.cmd === 'profile' &&
    !(
      Number.isSafeInteger(r.durationMs) &&
      (r.durationMs as number) >= MIN_PROFILE_MS &&
      (r.durationMs as number) <= MAX_PROFILE_MS
    )
  )
    return `profile needs "durationMs": a whole number of ms between ${MIN_PROFILE_MS} and ${MAX_PROFILE_MS} (${formatDuration(MAX_PROFILE_MS)})`;
  return undefined;
}

type ProfileRequest = Extract<Request, { cmd: 'profile' | 'heap' }>;

/**
 * Starts the profile and answers once the primary has chosen the worker (a refusal is an error reply:
 * unknown worker, not ready, a program); the stream then carries its chunks and ends with its result.
 */
export async function answerProfile(request: ProfileRequest, supervisor: Supervisor): Promise<Answer> {
  // An unknown app is refused (CLUSTERD_ERR_UNKNOWN_APP).
  const [runner] = supervisor.select(request.app);
  if (!runner) throw new Error('select returned no runner');
  const { app, id } = request;
  const kind = request.cmd === 'heap' ? 'heap' : 'cpu';
  const what = kind === 'heap' ? 'heap snapshot' : 'profile';
  if (runner.app.program !== null)
    throw new ClusterdError(
      ErrorCode.NOT_PROFILABLE,
      `${app} runs a program (command), not Node.js cluster workers: profiles and heap snapshots are taken of Node.js workers only`,
    );
  const durationMs = request.cmd === 'profile' ? request.durationMs : 0;
  // Chunks that come before the connection subscribes wait here: a few at most (the worker's window).
  let sink: ((piece: StreamPiece) => void) | null = null;
  const queued: StreamPiece[] = [];
  let begin: (piece: Extract<StreamPiece, { type: 'profiling' }>) => void = () => {};
  const begun = new Promise<Extract<StreamPiece, { type: 'profiling' }>>((resolve) => {
    begin = resolve;
  });
  const stream = runner.stream(
    { op: 'profile', kind, worker: request.worker ?? null, durationMs },
    (piece) => {
      if (piece.type === 'profiling') begin(piece);
      else if (sink) sink(piece);
      else queued.push(piece);
    },
  );
  const failed = (code: ErrorCode, reason: string) => failure(id, code, `${app}: ${what} failed: ${reason}`);
  const first = await Promise.race([begun, stream.outcome]);
  if (!('type' in first)) {
    if (first.ok) throw new Error(`the primary answered the ${what} before it began`);
    return { reply: failed(first.code, first.reason) };
  }
  const start: Reply = {
    v: CONTROL_VERSION,
    id,
    profiling: { app, kind, worker: first.worker, pid: first.pid, durationMs },
  };
  const subscribe = (send: (reply: Reply, written?: () => void) => void, end: (last: Reply) => void) => {
    let open = true;
    sink = (piece) => {
      if (piece.type === 'chunk')
        send({ v: CONTROL_VERSION, id, chunk: piece.data }, () => stream.ack(piece.seq));
    };
    for (const piece of queued.splice(0)) sink(piece);
    void stream.outcome.then((outcome) => {
      if (!open) return;
      open = false;
      const done: ProfileDone | null = outcome.ok ? { app, ...outcome.result } : null;
      end(
        done
          ? { v: CONTROL_VERSION, id, ok: true, result: done }
          : failed(outcome.ok ? ErrorCode.INTERNAL : outcome.code, outcome.ok ? '' : outcome.reason),
      );
    });
    // The client left (or fell behind): the worker stops.
    return () => {
      if (!open) return;
      open = false;
      stream.cancel();
    };
  };
  return { follow: { id, what: request.cmd, first: [start], subscribe } };
}
