// The app's own metrics summed in its primary (app-metrics.ts) give the very text prom-client's cluster
// mode gives (AggregatorRegistry.aggregate, then metrics()) for the same workers' getMetricsAsJSON(),
// labelled with `app` as the root did before: every aggregator, histograms and summaries, labels given in
// another order by another worker, escapes, NaN, the app's own `app` label.
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sumAppMetrics } from '../../src/primary/process/app-metrics.js';

type Json = { name: string; values: { labels?: Record<string, string | number> }[] };

/** A worker's registry after `hits` requests, through JSON as the IPC channel carries it. */
async function worker(hits: number, order: 'ab' | 'ba', extra: (r: client.Registry) => void = () => {}) {
  const r = new client.Registry();
  const labels = order === 'ab' ? { route: '/a', code: 200 } : { code: 200, route: '/a' };
  new client.Counter({
    name: 'http_hits_total',
    help: 'Hits,\nwith a \\ and a newline.',
    labelNames: ['route', 'code'],
    registers: [r],
  }).inc(labels, hits);
  new client.Gauge({ name: 'version_info', help: 'v', aggregator: 'first', registers: [r] }).set(hits);
  new client.Gauge({ name: 'low', help: 'l', aggregator: 'min', labelNames: ['x'], registers: [r] }).set(
    { x: 'q"uote' },
    hits,
  );
  new client.Gauge({ name: 'high', help: 'h', aggregator: 'max', registers: [r] }).set(hits * 1.5);
  new client.Gauge({ name: 'mean', help: 'm', aggregator: 'average', registers: [r] }).set(hits / 3);
  new client.Gauge({ name: 'gone', help: 'g', aggregator: 'omit', registers: [r] }).set(1);
  new client.Gauge({ name: 'not_a_number', help: 'n', registers: [r] }).set(Number.NaN);
  new client.Gauge({ name: 'owned', help: 'o', labelNames: ['app', 'zone'], registers: [r] }).set(
    { app: 'mine', zone: 'z' },
    hits,
  );
  new client.Gauge({ name: 'unset', help: 'u', labelNames: ['k'], registers: [r] });
  const h = new client.Histogram({
    name: 'latency_seconds',
    help: 'l',
    labelNames: ['kind'],
    buckets: [0.1, 1],
    registers: [r],
  });
  for (let i = 0; i < hits; i++) h.observe({ kind: i % 2 ? 'odd' : 'even' }, i / 10);
  const s = new client.Summary({ name: 'size_bytes', help: 's', percentiles: [0.5], registers: [r] });
  s.observe(hits);
  extra(r);
  return JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown[];
}

/** What the root did before: each value labelled with `app`, then prom-client's aggregate and render. */
async function promClient(app: string, workers: unknown[][]): Promise<string> {
  const labelled = workers.map((metrics) =>
    (metrics as Json[]).map((m) => ({
      ...m,
      values: m.values.map((v) => {
        const { app: own, ...labels } = v.labels ?? {};
        return { ...v, labels: { ...labels, ...(own === undefined ? {} : { exported_app: own }), app } };
      }),
    })),
  );
  return client.AggregatorRegistry.aggregate(labelled as never).metrics();
}

const text = (app: string, workers: unknown[][]) =>
  `${sumAppMetrics(app, workers)
    .families.map((f) => (f.lines ? `${f.head}\n${f.lines}` : f.head))
    .join('\n\n')}\n`;

describe('sumAppMetrics', () => {
  it("gives prom-client's cluster-mode text for the same workers, byte for byte", async () => {
    const workers = [await worker(3, 'ab'), await worker(4, 'ba'), await worker(0, 'ab')];
    const expected = await promClient('web', workers);
    expect(text('web', workers)).toBe(expected);
    // What it says, to be sure the comparison compares something.
    expect(expected).toContain('http_hits_total{route="/a",code="200",app="web"} 7');
    expect(expected).toContain('version_info{app="web"} 3');
    expect(expected).toContain('low{x="q\\"uote",app="web"} 0');
    expect(expected).toContain('owned{zone="z",exported_app="mine",app="web"} 7');
    expect(expected).toContain('not_a_number{app="web"} 0');
    expect(expected).toContain('latency_seconds_bucket{le="+Inf",kind="even",app="web"} 4');
    expect(expected).not.toContain('gone');
  });

  it('gives the same text for a real app with default metrics on many workers', async () => {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry });
    const one = JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as unknown[];
    const workers = Array.from({ length: 16 }, () => one);
    expect(text('app', workers)).toBe(await promClient('app', workers));
  });

  it('leaves out metrics named like clusterd, and one whose aggregator prom-client does not have', async () => {
    const workers = [
      await worker(1, 'ab', (r) => {
        new client.Gauge({ name: 'clusterd_ready', help: 'mine', registers: [r] }).set(5);
        new client.Gauge({ name: 'odd', help: 'o', aggregator: 'median' as never, registers: [r] }).set(1);
      }),
    ];
    const summed = sumAppMetrics('web', workers);
    expect(summed.clash).toBe(true);
    expect(summed.errors).toEqual(["'median' is not a defined aggregator."]);
    const names = summed.families.map((f) => f.name);
    expect(names).not.toContain('clusterd_ready');
    expect(names).not.toContain('odd');
    expect(names).toContain('http_hits_total');
  });

  it('has nothing to say of workers without metrics', () => {
    expect(sumAppMetrics('web', [[], []])).toEqual({ families: [], clash: false, errors: [] });
  });
});
