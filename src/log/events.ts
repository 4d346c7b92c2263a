// The root's events as objects, for `clusterd events` and the client's `events()`: each line the root's
// logger writes (JSON, before any pretty printing) is handed to the subscribers, parsed once. The log is
// the one source of the events, so a follower sees exactly what the log says, nothing more or less.
// The last RECENT_EVENTS are kept (`monitor` shows them first): the root logs transitions, not traffic,
// so parsing each of its lines costs little.
import type { LogEvent } from '../control/protocol.js';

export type EventListener = (event: LogEvent) => void;

/** Events kept for a view that opens later (`clusterd monit`, the dashboard's timeline). */
export const RECENT_EVENTS = 500;

export class LogEvents {
  private readonly kept: LogEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  /** Events logged by a listener while it was being called: delivered after it, in order. */
  private readonly pending: LogEvent[] = [];
  private delivering = false;

  /** Calls `listener` with every event from now on; returns how to stop. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** pino's `streamWrite` hook: the line goes on unchanged, and to the subscribers if there are any. */
  /** The last events logged, oldest first (at most RECENT_EVENTS), those since `since` (ms) if given. */
  recent(since = 0): LogEvent[] {
    return since > 0 ? this.kept.filter((e) => e.time >= since) : [...this.kept];
  }

  readonly hook = (line: string): string => {
    let event: LogEvent;
    try {
      event = JSON.parse(line) as LogEvent;
    } catch {
      return line;
    }
    this.kept.push(event);
    if (this.kept.length > RECENT_EVENTS) this.kept.splice(0, this.kept.length - RECENT_EVENTS);
    if (this.listeners.size === 0) return line;
    this.pending.push(event);
    if (!this.delivering) this.deliver();
    return line;
  };

  private deliver(): void {
    this.delivering = true;
    try {
      for (let event = this.pending.shift(); event; event = this.pending.shift()) {
        for (const listener of this.listeners) {
          try {
            listener(event);
          } catch {
            // A listener's fault is its own: the log and the other listeners go on.
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
