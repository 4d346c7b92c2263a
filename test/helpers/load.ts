// A real HTTP load on loopback (autocannon, keep-alive connections), bounded in time, that a test
// stops when it has done what it wanted to do under load.
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  p99: number;
}

export function startLoad(
  address: string,
  options: {
    connections?: number;
    path?: string;
    maxSeconds?: number;
    tls?: boolean;
    /**
     * Requests per second over all connections (each connection its share: autocannon's overall rate
     * sends each second's requests in one burst); unset: as fast as the server answers.
     */
    rate?: number;
  } = {},
) {
  let finish: (result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve) => {
    finish = resolve;
  });
  const instance = autocannon(
    {
      // With tls, autocannon accepts any certificate (the tests' own is self-signed).
      url: `${options.tls ? 'https' : 'http'}://${address}${options.path ?? '/'}`,
      connections: options.connections ?? 20,
      pipelining: 1,
      duration: options.maxSeconds ?? 60,
      timeout: 10,
      ...(options.rate
        ? { connectionRate: Math.max(1, Math.round(options.rate / (options.connections ?? 20))) }
        : {}),
    },
    (error, result) => {
      if (error) throw error;
      finish(result);
    },
  );
  let responses = 0;
  instance.on('response', () => {
    responses += 1;
  });
  return {
    responses: () => responses,
    /** Resolves once at least `count` more responses have arrived. */
    async after(count: number): Promise<void> {
      const target = responses + count;
      while (responses < target) await new Promise((r) => setTimeout(r, 5));
    },
    async stop(): Promise<LoadResult> {
      instance.stop();
      const r = await done;
      return {
        requests: r.requests.total,
        ok: r['2xx'],
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        resets: r.resets,
        p99: r.latency.p99,
      };
    },
  };
}
