// Prometheus's text format (0.0.4) as prom-client 15 writes it, for what clusterd renders without it
// (health/metrics.ts, health/request-metrics.ts, primary/process/app-metrics.ts): the same escapes and
// the same numbers, so that a scrape reads the same whichever wrote it. Pure.

/** A HELP text or a metric name: backslashes and newlines escaped. */
export const escapeString = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A label's value between its quotes; a number is written as it is (as prom-client does). */
export const labelValue = (v: string | number): string | number =>
  typeof v === 'string' ? escapeString(v).replace(/"/g, '\\"') : v;

/** A sample's value: NaN is `Nan` and the infinities `+Inf` and `-Inf`, prom-client's spellings. */
export function valueString(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** A family's HELP and TYPE lines, then its samples' (none: the two lines alone). */
export function family(name: string, help: string, type: string, samples: readonly string[]): string {
  const head = `# HELP ${name} ${escapeString(help)}\n# TYPE ${name} ${type}`;
  return samples.length ? `${head}\n${samples.join('\n')}` : head;
}
