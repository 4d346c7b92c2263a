// The app's own prom-client metrics of one scrape, summed over its workers here, in the app's primary, as
// prom-client's cluster mode does in a node:cluster primary (AggregatorRegistry.aggregate), and rendered
// once, in Prometheus's text format, for the root to pass on as it is: the root gets one summed text per
// app instead of every worker's JSON, and neither parses nor renders it again (health/metrics.ts).
//
// The same rules as prom-client 15's, byte for byte in what they give (test/primary/app-metrics.test.ts
// holds the two together):
// - a metric is summed by the aggregator its first worker names (sum, first, min, max, average; omit
//   leaves it out), over the values of the same metricName and labels (the labels' order aside);
// - HELP and TYPE are the first worker's; values come in the order they were first seen, each with the
//   labels of its first worker;
// - every value is labelled with `app` (last); an `app` label of the app's own becomes `exported_app`,
//   as Prometheus does with a clash; a metric named like clusterd's (`clusterd_`) is left out (`clash`).
// Unlike prom-client's aggregate(), which fails whole on an aggregator it does not know, only that
// metric is left out (`errors` says why). A metric without an aggregator is summed (prom-client's
// documented default; its getMetricsAsJSON() always names one). No prom-client is loaded here. Pure.

import { escapeString, labelValue, valueString } from '../../health/exposition.js';

/** One metric family of the app, rendered. */
export interface AppFamily {
  name: string;
  /** Its `# HELP` and `# TYPE` lines (no newline at the end). */
  head: string;
  /** Its sample lines, joined by newlines ('' when it has none). */
  lines: string;
}

export interface AppMetricsText {
  families: AppFamily[];
  /** Whether a metric of the app's was named like clusterd's (left out). */
  clash: boolean;
  /** Why metrics were left out (an aggregator prom-client does not have), once each. */
  errors: string[];
}

type Labels = Record<string, string | number>;
/** A value of getMetricsAsJSON(), as the worker's guard let it through (worker/messages.cts). */
interface Value {
  value: number | null;
  labels?: Labels;
  metricName?: string;
}
interface Metric {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: Value[];
}

const PREFIX = 'clusterd_';

// prom-client's metricAggregators.js: the same arithmetic, so that a value the app made NaN (JSON's
// null) gives what prom-client gives.
const n = (v: Value) => v.value as number;
const AGGREGATORS: Record<string, ((values: Value[]) => number) | null> = {
  sum: (v) => v.reduce((p, c) => p + n(c), 0),
  first: (v) => n(v[0] as Value),
  omit: null,
  average: (v) => v.reduce((p, c) => p + n(c), 0) / v.length,
  min: (v) => v.reduce((p, c) => Math.min(p, n(c)), Number.POSITIVE_INFINITY),
  max: (v) => v.reduce((p, c) => Math.max(p, n(c)), Number.NEGATIVE_INFINITY),
};

/**
 * The identity of a value within its metric: its metricName and labels, the labels in name order, the
 * app's own `app` as `exported_app` (as it is rendered).
 */
function keyOf(v: Value): string {
  let key = `${v.metricName}\u0000`;
  const labels = v.labels;
  if (!labels) return key;
  const names = Object.keys(labels);
  const own = labels.app;
  if (own !== undefined) {
    names.splice(names.indexOf('app'), 1);
    if (!Object.hasOwn(labels, 'exported_app')) names.push('exported_app');
  }
  if (names.length > 1) names.sort();
  for (const name of names) {
    const value = name === 'exported_app' && own !== undefined ? own : labels[name];
    key += `${name}\u0001${value}\u0000`;
  }
  return key;
}

/** `{...labels}` as it is rendered: the app's own labels (its `app` as `exported_app`), then `app`. */
function labelsText(labels: Labels | undefined, app: string): string {
  let text = '';
  const own = labels?.app;
  if (labels) {
    for (const name of Object.keys(labels)) {
      if (name === 'app') continue;
      // An `exported_app` of the app's own keeps its place, and takes its `app` when it has one.
      const value = name === 'exported_app' && own !== undefined ? own : (labels[name] as string | number);
      text += `${name}="${labelValue(value)}",`;
    }
    if (own !== undefined && !Object.hasOwn(labels, 'exported_app'))
      text += `exported_app="${labelValue(own)}",`;
  }
  return `{${text}app="${labelValue(app)}"}`;
}

/**
 * The app's metrics summed over `workers` (each worker's getMetricsAsJSON(), in slot order), each value
 * labelled with `app`, rendered.
 */
export function sumAppMetrics(app: string, workers: readonly (readonly unknown[])[]): AppMetricsText {
  const byName = new Map<string, Metric[]>();
  let clash = false;
  for (const metrics of workers)
    for (const m of metrics as Metric[]) {
      if (m.name.startsWith(PREFIX)) {
        clash = true;
        continue;
      }
      const known = byName.get(m.name);
      if (known) known.push(m);
      else byName.set(m.name, [m]);
    }
  const families: AppFamily[] = [];
  const errors = new Set<string>();
  for (const [name, metrics] of byName) {
    const first = metrics[0] as Metric;
    const aggregator = first.aggregator ?? 'sum';
    if (!Object.hasOwn(AGGREGATORS, aggregator)) {
      errors.add(`'${aggregator}' is not a defined aggregator.`);
      continue;
    }
    const sum = AGGREGATORS[aggregator];
    if (!sum) continue; // omit
    const groups = new Map<string, Value[]>();
    for (const m of metrics)
      for (const v of m.values) {
        const key = keyOf(v);
        const known = groups.get(key);
        if (known) known.push(v);
        else groups.set(key, [v]);
      }
    const escaped = escapeString(name);
    let lines = '';
    for (const values of groups.values()) {
      const v = values[0] as Value;
      if (lines) lines += '\n';
      lines += `${v.metricName ?? escaped}${labelsText(v.labels, app)} ${valueString(sum(values))}`;
    }
    families.push({
      name,
      head: `# HELP ${escaped} ${escapeString(first.help)}\n# TYPE ${escaped} ${first.type}`,
      lines,
    });
  }
  return { families, clash, errors: [...errors] };
}
