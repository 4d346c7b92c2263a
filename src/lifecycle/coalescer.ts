// One operation at a time, and at most one more queued behind it, into which every request made meanwhile
// is merged (the latest wins): rolling reloads (SIGUSR2, `clusterd reload`, a watched file, new settings
// from a config reload) and config reloads (SIGHUP, --watch-config) go through it. Every request is
// answered exactly once, with the result of the run that served it, never with that of a run that was
// already under way when it came (that run may predate what the request is about: a file saved, a
// config edited).

export type Waiter<Res> = (result: Res) => void;

export class Coalescer<Req, Res> {
  private running: Waiter<Res>[] | null = null;
  private queued: { request: Req; waiters: Waiter<Res>[] } | null = null;
  private readonly idle: (() => void)[] = [];

  constructor(
    /** Starts a run; it calls `finish` once, when it is over (a second call is ignored). */
    private readonly start: (request: Req, finish: (result: Res) => void) => void,
    /** What to run for a request queued behind the running one, when `next` arrives as well. */
    private readonly merge: (queued: Req, next: Req) => Req = (_queued, next) => next,
  ) {}

  /** True while a run is under way or queued. */
  get busy(): boolean {
    return this.running !== null || this.queued !== null;
  }

  request(request: Req, waiter: Waiter<Res>): void {
    if (this.running === null) {
      this.launch(request, [waiter]);
      return;
    }
    if (this.queued) {
      this.queued.request = this.merge(this.queued.request, request);
      this.queued.waiters.push(waiter);
    } else {
      this.queued = { request, waiters: [waiter] };
    }
  }

  /** Calls `fn` once nothing runs and nothing is queued (at once if that is now). */
  whenIdle(fn: () => void): void {
    if (this.busy) this.idle.push(fn);
    else fn();
  }

  /** Answers the queued requests with `result` without running them (the app is stopping, say). */
  dropQueued(result: Res): void {
    const queued = this.queued;
    this.queued = null;
    for (const waiter of queued?.waiters ?? []) waiter(result);
    if (!this.busy) this.flushIdle();
  }

  private launch(request: Req, waiters: Waiter<Res>[]): void {
    this.running = waiters;
    let finished = false;
    this.start(request, (result) => {
      if (finished) return;
      finished = true;
      this.running = null;
      for (const waiter of waiters) waiter(result);
      const next = this.queued;
      if (next && this.running === null) {
        this.queued = null;
        this.launch(next.request, next.waiters);
      } else if (!this.busy) {
        this.flushIdle();
      }
    });
  }

  private flushIdle(): void {
    for (const fn of this.idle.splice(0)) fn();
  }
}
