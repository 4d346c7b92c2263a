// What a control request gets back, built in one place: the commands (commands.ts) and the commands
// that have a module of their own (streams.ts, up.ts) all answer with these, and none imports another.
import { formatDuration } from '../config/units.js';
import { ErrorCode } from '../errors.js';
import { CONTROL_VERSION, type Reply, type ReplyError, type Request } from './protocol.js';

type Id = string | number | null;

/** What a request gets: one reply (and something to do once it is sent), or a stream of messages. */
export type Answer =
  | { reply: Reply; after?: () => void }
  | {
      follow: {
        id: string | number;
        /** The stream's name, in the message of a client that falls behind. */
        what: 'logs --follow' | 'events' | 'monitor' | 'profile' | 'heap';
        /** Sent at once (the recent lines of `logs`). */
        first: Reply[];
        /**
         * Calls `send` with each message as it comes (`written`: once the socket took it, for a stream
         * paced by its reader); `end` with the last one, which closes the connection. Returns how to stop.
         */
        subscribe: (
          send: (reply: Reply, written?: () => void) => void,
          end: (last: Reply) => void,
        ) => () => void;
      };
    };

export function failure(id: Id, code: ErrorCode, message: string, more: Partial<ReplyError> = {}): Reply {
  return { v: CONTROL_VERSION, id, ok: false, error: { code, message, ...more } };
}

/** Runs `work`, or answers with a timeout failure once `ms` have passed (the work goes on). */
export async function withDeadline(request: Request, ms: number, work: Promise<Reply>): Promise<Reply> {
  let timer: NodeJS.Timeout | undefined;
  const what = `${request.cmd}${'app' in request && request.app !== undefined ? ` ${request.app}` : ''}`;
  const expired = new Promise<Reply>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          failure(
            request.id,
            ErrorCode.TIMEOUT,
            `${what} did not finish within ${formatDuration(ms)}; it goes on in the background (see clusterd status), or pass a longer --timeout`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
