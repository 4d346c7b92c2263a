// A worker's request metrics, counted without the app's code: every HTTP/1 request, plain or TLS, that
// any server of the app answers, by the class of its status, the responses that never finished, a
// latency histogram, and the event loop's delay. The primary asks for them (`counts`) and gets them
// cumulative since the worker started (`counted`): primary/process/scrape-counts.ts, and what reads them
// (primary/requests/history.ts for `status` and reloads, /metrics) is in health/request-stats.ts.
//
// The preload's one diagnostics_channel subscriber (`http.server.request.start`) and its one 'close'
// listener per response call `started` and `ended` below: no second subscriber, no second listener, no
// closure per request. What a request costs here: a clock read and a property on the response at its
// start; at its close, a clock read, two fields that say whether it may be an event stream (its header is
// read only then), a binary search over 59 bounds and a few increments: about 2,000 instructions, 2 % of
// a "hello" worker's per request (bench/request-cost.ts; bench/throughput.ts for req/s).
//
// What is not counted:
// - upgrades (WebSockets): node:http publishes no request for one a server has an 'upgrade' listener for;
// - HTTP/2 (node:http2, its compatibility API included): node:http2 publishes its server streams on
//   diagnostics_channel (`http2.server.stream.start`, `.finish`, `.close`) only since mid-2025 (22.17 on
//   the 22 line), and clusterd supports 22.12 and later: counting them would make the figures depend on
//   the Node.js minor version, and HTTP/2 traffic of an app vanish from them on an older 22. An HTTP/1 request to an http2 server with `allowHTTP1` is an HTTP/1 request;
// - from the latency only: server-sent event streams (a response whose header says
//   `text/event-stream`), which last as long as their client stays, so a latency would say nothing.
import perfHooks = require('node:perf_hooks');
import type http = require('node:http');

import messages = require('./messages.cjs');
import requestBuckets = require('./request-buckets.cjs');

/** The delay timer's interval (ms): what it records is how much later than this it fired. */
const RESOLUTION_MS = 20;
const BUCKETS = requestBuckets.BOUNDS_MS.length + 1;
const EVENT_STREAM = 'text/event-stream';
/** When the request started (performance.now(), ms), on its response. */
const START = Symbol('clusterd.requestStart');

type Response = http.ServerResponse & {
  [START]?: number;
  _header?: unknown;
  _last?: boolean;
  _contentLength?: number | null;
};

/**
 * Whether a finished response was an event stream. Only a response of unknown length can be one: sent
 * chunked, or ended by closing the connection (`_last`) with no length Node.js computed itself. A
 * response of known length (keep-alive's usual case) is told by two boolean fields; the others have their
 * header as sent searched (also when the app gave it to writeHead alone, which getHeader() does not see),
 * which costs more: the header is a string built in pieces, and a search first copies it into one.
 */
function isEventStream(r: Response): boolean {
  if (!r.chunkedEncoding && !(r._last && typeof r._contentLength !== 'number')) return false;
  const header = r._header;
  return typeof header === 'string' && header.includes(EVENT_STREAM);
}

interface Recorder {
  /** A request has started (its head is parsed). */
  started(res: http.ServerResponse): void;
  /** Its response closed: finished, or not. */
  ended(res: http.ServerResponse): void;
}

type CountsSample = Parameters<typeof messages.counted>[1];

/** What the worker's metrics answer (metrics.cts) takes of this module. */
interface Counting {
  /** The counts now, with the worker's RSS and the time. */
  sample(): CountsSample;
  /** Called with how late (ms, 0 or more) each tick of the delay timer fired, from now on. */
  onDelay(listener: (lateMs: number) => void): void;
}

/**
 * Answers the primary's `counts`; with `countRequests`, the recorder the preload calls per request
 * (without, null: the answer has zero request counts, and still the RSS and the loop's delay); and what
 * metrics.cts takes: the counts for its answer, and the ticks of the one delay timer a worker runs.
 */
function installRequests(countRequests: boolean): { recorder: Recorder | null; counting: Counting } {
  const { bucketOf } = requestBuckets;
  const now = () => perfHooks.performance.now();
  const classes: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let started = 0;
  let aborted = 0;
  const latency = new Array<number>(BUCKETS).fill(0);
  let latencySum = 0;
  const delay = new Array<number>(BUCKETS).fill(0);
  let delaySum = 0;
  const worker = Number(process.env.NODE_APP_INSTANCE);

  // How late a 20 ms timer fires, each time, from the worker's start and never reset (unlike
  // metrics.cts's histogram, which a scrape starts and resets): a reload compares windows of it between
  // workers. The one timer of the worker: metrics.cts's histogram records its ticks too (`onDelay`).
  let last = now();
  let onDelay: ((lateMs: number) => void) | null = null;
  setInterval(() => {
    const t = now();
    const late = Math.max(0, t - last - RESOLUTION_MS);
    last = t;
    const i = bucketOf(late);
    delay[i] = (delay[i] as number) + 1;
    delaySum += late;
    onDelay?.(late);
  }, RESOLUTION_MS).unref();

  // Rounded to the µs: the answer stays short, and no clock is that exact anyway.
  const rounded = (ms: number) => Math.round(ms * 1000) / 1000;
  function sample(): CountsSample {
    return {
      worker,
      pid: process.pid,
      at: Date.now(),
      rss: process.memoryUsage.rss(),
      counts: {
        started,
        classes: [...classes],
        aborted,
        latency: { counts: latency.slice(), sum: rounded(latencySum) },
        loopDelay: { counts: delay.slice(), sum: rounded(delaySum) },
      },
    };
  }

  process.on('message', (message: unknown) => {
    if (messages.isCounts(message) && process.connected)
      process.send?.(messages.counted(message.seq, sample()));
  });

  const counting: Counting = {
    sample,
    onDelay: (listener) => {
      onDelay = listener;
    },
  };
  if (!countRequests) return { recorder: null, counting };
  const recorder: Recorder = {
    started(res) {
      started += 1;
      (res as Response)[START] = now();
    },
    ended(res) {
      const r = res as Response;
      if (!r.writableFinished) {
        aborted += 1;
        return;
      }
      // node:http takes 100 to 999: what is above 599 is no success, and counts with the 5xx.
      const code = r.statusCode;
      const c = code >= 500 ? 4 : code < 200 ? 0 : ((code / 100) | 0) - 1;
      classes[c] = (classes[c] as number) + 1;
      if (isEventStream(r)) return;
      const ms = now() - (r[START] as number);
      const i = bucketOf(ms);
      latency[i] = (latency[i] as number) + 1;
      latencySum += ms;
    },
  };
  return { recorder, counting };
}

export = installRequests;
