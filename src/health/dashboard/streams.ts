// The dashboard's server-sent event streams: one for the fleet (the kept samples and recent events
// first, then each new sample and event), one per open log pane (an app's recent lines, then its output).
// Bounded as the control socket's followers are: a client that falls MAX_PENDING_BYTES behind is
// dropped (the page reconnects and gets the history again), and streams are limited in number. The
// fleet is sampled only while a fleet stream is open: the last one's close stops it.
import type http from 'node:http';
import type { LogEvents } from '../../log/events.js';
import type { Logger } from '../../log/logger.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { SECURITY_HEADERS, SSE_KEEPALIVE, sseEvent } from './headers.js';

export const MAX_FLEET_STREAMS = 16;
export const MAX_LOG_STREAMS = 8;
/** Bytes a client may leave unread beyond what it was sent first, before it is dropped. */
export const MAX_PENDING_BYTES = 1024 * 1024;
/** The kept samples sent first, at most (the newest that fit). */
export const HISTORY_BYTES = 2 * 1024 * 1024;
/** Lines of an app's output sent first. */
export const LOG_LINES = 200;
export const KEEPALIVE_MS = 15_000;

class Stream {
  private limit = 0;
  private timer: NodeJS.Timeout;
  private readonly stops: (() => void)[] = [];
  closed = false;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly onDrop: (pending: number) => void,
  ) {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies (nginx) must pass each event on as it comes.
      'x-accel-buffering': 'no',
    });
    res.on('close', () => this.close());
    this.timer = setInterval(() => this.write(SSE_KEEPALIVE), KEEPALIVE_MS);
  }

  /** What is sent first may exceed the bound on its own; the bound applies after it. */
  first(text: string): void {
    this.res.write(text);
    this.limit = this.res.writableLength + MAX_PENDING_BYTES;
  }

  send(event: string, data: unknown): void {
    this.write(sseEvent(event, JSON.stringify(data)));
  }

  onClose(stop: () => void): void {
    this.stops.push(stop);
  }

  private write(text: string): void {
    if (this.closed) return;
    if (this.res.writableLength > this.limit) {
      const pending = this.res.writableLength;
      this.close();
      this.res.destroy();
      this.onDrop(pending);
      return;
    }
    this.res.write(text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    if (!this.res.writableEnded) this.res.end();
  }
}

export class Streams {
  private readonly fleetStreams = new Set<Stream>();
  private readonly logStreams = new Set<Stream>();

  constructor(
    private readonly supervisor: Supervisor,
    private readonly events: LogEvents,
    private readonly log: Logger,
  ) {}

  get counts(): { fleet: number; logs: number } {
    return { fleet: this.fleetStreams.size, logs: this.logStreams.size };
  }

  /** false: too many streams of this kind already (the caller answers 503). */
  fleet(res: http.ServerResponse, hello: object): boolean {
    if (this.fleetStreams.size >= MAX_FLEET_STREAMS) return false;
    // What is sent first is gathered before the headers go out: a fault there is still a clean 500.
    const samples = this.supervisor.fleet.history();
    const each = samples.length ? JSON.stringify(samples.at(-1)).length + 16 : 1;
    const kept = samples.slice(-Math.max(1, Math.floor(HISTORY_BYTES / each)));
    const stream = this.open(res, this.fleetStreams, 'fleet');
    stream.first(
      sseEvent('hello', JSON.stringify(hello)) +
        sseEvent('history', JSON.stringify({ samples: kept, events: this.events.recent() })),
    );
    stream.onClose(this.supervisor.fleet.subscribe((sample) => stream.send('sample', sample)));
    stream.onClose(this.events.subscribe((event) => stream.send('event', event)));
    return true;
  }

  /** `app` must be known (Supervisor.select throws otherwise, before anything is written). */
  logs(res: http.ServerResponse, app: string): boolean {
    const runners = this.supervisor.select(app);
    if (this.logStreams.size >= MAX_LOG_STREAMS) return false;
    const stream = this.open(res, this.logStreams, 'logs');
    stream.first(sseEvent('lines', JSON.stringify(runners.flatMap((r) => r.output.lines(LOG_LINES)))));
    const listener = (chunk: Buffer) => {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      if (lines.length) stream.send('lines', lines);
    };
    // A restart moves the listener to the app's new runner; each unsubscribe finds it there.
    for (const runner of runners) stream.onClose(runner.output.follow(listener));
    return true;
  }

  /** Ends every stream (the server closes). */
  close(): void {
    for (const stream of [...this.fleetStreams, ...this.logStreams]) stream.close();
  }

  private open(res: http.ServerResponse, set: Set<Stream>, what: string): Stream {
    const stream = new Stream(res, (pending) =>
      this.log.warn(
        { pending },
        `dashboard: a ${what} stream fell more than ${MAX_PENDING_BYTES} bytes behind; disconnected it`,
      ),
    );
    set.add(stream);
    stream.onClose(() => set.delete(stream));
    return stream;
  }
}
