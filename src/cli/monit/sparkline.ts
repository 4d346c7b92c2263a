// A series as a sparkline: one character per value, eight heights, a space where nothing is known. The
// scale starts at 0 (a flat line of 100 req/s is not drawn as noise around 100) unless told otherwise,
// and its top is the series' own maximum, or `max` when larger (a share: 1). Pure.

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export function sparkline(values: readonly (number | null)[], columns: number, max = 0): string {
  if (columns <= 0) return '';
  const shown = values.slice(-columns);
  let top = max;
  for (const v of shown) if (v !== null && Number.isFinite(v) && v > top) top = v;
  const line = shown
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      if (top <= 0) return BARS[0];
      const level = Math.round((Math.max(0, v) / top) * (BARS.length - 1));
      return BARS[Math.min(BARS.length - 1, level)];
    })
    .join('');
  return line.padStart(columns, ' ');
}
