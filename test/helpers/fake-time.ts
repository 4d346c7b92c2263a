// Fake time for the pure parts that take their timers injected: `fx.timer(ms, fn)` queues, `advance(ms)`
// runs what falls due, in order, with `fx.now()` at each timer's own time.
export function fakeTime() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    fx: { now: () => now, timer: (ms: number, fn: () => void) => void timers.push({ at: now + ms, fn }) },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        now = next.at;
        next.fn();
      }
      now = end;
    },
    pending: () => timers.length,
  };
}
