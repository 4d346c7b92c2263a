// `clusterd send <app> <topic> <json> [--worker N]` (and the client's `send`): a message from outside to
// the onMessage handlers of an app's workers (clusterd/worker, docs/messages.md), through its primary,
// which routes it by its own pool (primary/messages/). Answered once the message was handed to the
// workers' channels: not once their handlers ran (they answer nothing).
import { ClusterdError } from '../errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import workerMessages from '../worker/messages.cjs';
import type { Request, SendResult } from './protocol.js';

/** Why a `send` request's own fields are wrong, if they are (the app is checked by parseRequest). */
export function sendProblem(r: Record<string, unknown>): string | undefined {
  if (typeof r.app !== 'string') return 'send needs an "app"';
  if (!workerMessages.isTopic(r.topic))
    return 'send needs a "topic": 1 to 128 characters of A-Z a-z 0-9 . _ : / - starting with a letter or digit';
  if (!Object.hasOwn(r, 'data')) return 'send needs "data" (any JSON value)';
  if (r.worker !== undefined && !(Number.isSafeInteger(r.worker) && (r.worker as number) >= 0))
    return '"worker" must be a worker number (0, 1, 2...)';
  return undefined;
}

export async function sendMessage(
  request: Extract<Request, { cmd: 'send' }>,
  supervisor: Supervisor,
): Promise<SendResult> {
  // An unknown app is refused (CLUSTERD_ERR_UNKNOWN_APP).
  const [runner] = supervisor.select(request.app);
  if (!runner) throw new Error('select returned no runner');
  const { app, topic, data } = request;
  const outcome = await runner.request({ op: 'send', topic, data, worker: request.worker ?? null });
  if (!outcome.ok) throw new ClusterdError(outcome.code, `${app}: send failed: ${outcome.reason}`);
  return { app, topic, workers: outcome.result.workers };
}
