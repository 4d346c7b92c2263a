// The charts: one uPlot per figure, a series for the app (all its workers) and one per worker slot,
// over the samples kept. Each figure carries data-points (how many points the app's series has) and
// data-last (its newest value), read by the tests instead of the canvas.

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
const MIB = 1024 * 1024;

const sum = (values) => {
  const known = values.filter((v) => v !== null && v !== undefined);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
};
const max = (values) => {
  const known = values.filter((v) => v !== null && v !== undefined);
  return known.length ? Math.max(...known) : null;
};
const pct = (v) => (v === null || v === undefined ? null : v * 100);
const mib = (v) => (v === null || v === undefined ? null : v / MIB);

// For each chart: the app's value, a worker's value, and how two processes of one slot (a reload's
// old worker and its successor) combine.
const CHARTS = {
  rate: { app: (a) => a.requests?.rate ?? null, worker: (w) => w.requests?.rate ?? null, combine: sum },
  errors: {
    app: (a) => pct(a.requests?.serverErrors),
    worker: (w) => pct(w.requests?.serverErrors),
    combine: max,
  },
  latency: { app: (a) => a.requests?.p99 ?? null, worker: (w) => w.requests?.p99 ?? null, combine: max },
  cpu: { app: (a) => sum(a.workers.map((w) => w.cpu)), worker: (w) => w.cpu, combine: sum },
  memory: {
    app: (a) => mib(sum(a.workers.map((w) => w.memory))),
    worker: (w) => mib(w.memory),
    combine: sum,
  },
  loop: {
    app: (a) => a.requests?.loopDelay ?? null,
    worker: (w) => w.requests?.loopDelay ?? null,
    combine: max,
  },
};

function slotsOf(samples, appName) {
  const ids = new Set();
  for (const s of samples)
    for (const w of s.apps.find((a) => a.name === appName)?.workers ?? []) ids.add(w.id);
  return [...ids].sort((a, b) => a - b);
}

/** The chart's series: [label, values per sample] for the app, then per worker slot. */
function seriesOf(key, samples, appName, slots) {
  const chart = CHARTS[key];
  const apps = samples.map((s) => s.apps.find((a) => a.name === appName));
  const series = [];
  if (key === 'latency')
    series.push([`${appName} p50`, apps.map((a) => (a ? (a.requests?.p50 ?? null) : null))]);
  series.push([key === 'latency' ? `${appName} p99` : appName, apps.map((a) => (a ? chart.app(a) : null))]);
  for (const id of slots) {
    const label = key === 'latency' ? `#${id} p99` : `#${id}`;
    series.push([
      label,
      apps.map((a) => (a ? chart.combine(a.workers.filter((w) => w.id === id).map(chart.worker)) : null)),
    ]);
  }
  return series;
}

const round = (v) => (v === null ? '' : String(Math.round(v * 100) / 100));

export class Charts {
  constructor(root) {
    this.figures = [...root.querySelectorAll('figure[data-chart]')];
    this.plots = new Map();
    new ResizeObserver(() => this.resize()).observe(root);
  }

  update(samples, appName) {
    const xs = samples.map((s) => s.at / 1000);
    const slots = slotsOf(samples, appName);
    for (const figure of this.figures) {
      const key = figure.dataset.chart;
      const series = seriesOf(key, samples, appName, slots);
      const total = series[key === 'latency' ? 1 : 0][1].filter((v) => v !== null);
      figure.dataset.points = String(total.length);
      figure.dataset.last = round(total.length ? total[total.length - 1] : null);
      const signature = `${appName}|${series.map((s) => s[0]).join(',')}`;
      let entry = this.plots.get(key);
      if (!entry || entry.signature !== signature) {
        entry?.plot.destroy();
        entry = { signature, plot: this.create(figure, series) };
        this.plots.set(key, entry);
      }
      entry.plot.setData([xs, ...series.map((s) => s[1])]);
    }
  }

  create(figure, series) {
    const target = figure.querySelector('.plot');
    const options = {
      width: Math.max(300, target.clientWidth),
      height: 200,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{ stroke: '#888' }, { stroke: '#888', size: 55 }],
      series: [
        {},
        ...series.map(([label], i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          width: i === 0 || (figure.dataset.chart === 'latency' && i === 1) ? 2.5 : 1,
          spanGaps: false,
          value: (_u, v) => (v === null ? '–' : v.toFixed(v < 10 ? 2 : 1)),
        })),
      ],
    };
    // uPlot: the global its script (vendor/uPlot.iife.min.js, loaded before this module) defines.
    return new uPlot(options, [[], ...series.map(() => [])], target);
  }

  resize() {
    for (const figure of this.figures) {
      const entry = this.plots.get(figure.dataset.chart);
      const width = figure.querySelector('.plot').clientWidth;
      if (entry && width > 0) entry.plot.setSize({ width: Math.max(300, width), height: 200 });
    }
  }
}
