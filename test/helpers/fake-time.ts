// Fake time for the pure parts that take their timers injected: `fx.timer(ms, fn)` queues and returns how
// to cancel it, `advance(ms)` runs what falls due, in order, with `fx.now()` at each timer's own time.
export function fakeTime() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const timer = (ms: number, fn: () => void) => {
    const entry = { at: now + ms, fn };
    timers.push(entry);
    return () => {
      timers = timers.filter((t) => t !== entry);
    };
  };
  return {
    fx: { now: () => now, timer },
    now: () => now,
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
