// What one app's primary says, as its AppRunner takes it in: hello, bye and the app's transitions become
// events of the primary's step, replies and streamed pieces go to the requests waiting for them, the
// workers' transitions, restarts and guards' actions to the workers view (what `status` shows), its
// request figures and release are kept, and every report is logged and told the observer (reports.ts).
// Apart from app-runner.ts, which carries out the step's effects: this only sorts the messages, and all
// it writes to is injected.
import type { Logger } from '../log/logger.js';
import { isPrimaryMessage, type OpResults, type Outcome, type PrimaryMessage } from '../protocol.js';
import type { PrimaryEvent } from './primary-machine.js';
import { logReport, type RunnerObserver } from './reports.js';
import type { WorkersView } from './workers-view.js';

/** Where a primary's messages go, in its runner. */
export interface MessageTarget {
  /** The app's name. */
  app(): string;
  readonly log: Logger;
  readonly workers: WorkersView;
  readonly observer: RunnerObserver | undefined;
  /** Steps the primary's machine. */
  step(event: PrimaryEvent): void;
  /** Settles request `id` with the primary's answer; false if no such request is pending. */
  answer(id: number, outcome: Outcome): boolean;
  /** A piece of a `stream` request's answer. */
  piece(piece: Extract<PrimaryMessage, { type: 'profiling' | 'chunk' }>): void;
  /** The primary's latest request figures, or null: they describe workers that are gone. */
  figures(figures: OpResults['requests'] | null): void;
  /** The release the primary says its workers run. */
  released(release: { script: string; cwd: string }): void;
}

/** Takes in one message of the primary; anything that is not one is logged and ignored. */
export function takeMessage(target: MessageTarget, raw: unknown): void {
  if (!isPrimaryMessage(raw)) {
    target.log.warn({ app: target.app() }, 'ignored an unknown message from the primary');
    return;
  }
  const message: PrimaryMessage = raw;
  switch (message.type) {
    case 'hello':
      // A new primary: the figures of the one before describe workers that are gone.
      target.figures(null);
      target.step({ type: 'hello', version: message.version });
      return;
    case 'reply':
      if (!target.answer(message.id, message.outcome))
        target.log.warn({ app: target.app(), id: message.id }, 'a reply to no pending request');
      return;
    case 'profiling':
    case 'chunk':
      target.piece(message);
      return;
    case 'app':
      target.step({ type: 'report', to: message.to, reason: message.reason });
      break;
    case 'worker':
      target.workers.transition(message.transition);
      break;
    case 'backoff':
      target.workers.restarted(message.worker);
      break;
    case 'guard':
    case 'recycled':
      target.workers.guarded(message);
      break;
    case 'figures':
      target.figures({ workers: message.workers, app: message.app });
      return;
    case 'connections':
      // Shown by status; a count every second of a long drain is not news for the log.
      target.workers.connections(message.pid, message.open);
      return;
    case 'release':
      target.released({ script: message.script, cwd: message.cwd });
      return;
    case 'bye':
      target.step({ type: 'bye' });
      return;
    default:
      break;
  }
  logReport(target.log, target.app(), message);
  target.observer?.report(target.app(), message);
}
