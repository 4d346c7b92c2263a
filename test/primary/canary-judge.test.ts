// The canary's verdict from its figures and the old workers' (pure): every check, its limit, the outcome.
import { describe, expect, it } from 'vitest';
import {
  type Figures,
  judgeCanary,
  normalQuantile,
  significantlyHigher,
} from '../../src/primary/reload/canary-judge.js';
import { canarySettings } from '../helpers/fake-pool.js';

const MiB = 2 ** 20;
/** Every latency statistic at `ms`. */
const lat = (ms: number | null) => ({ p50: ms, p90: ms, p95: ms, p99: ms, mean: ms });
const healthy: Figures = {
  requests: 1_000,
  errors: 0,
  finished: 1_000,
  latency: lat(10),
  loopDelay: 2,
  rss: 60 * MiB,
  exits: 0,
};
const served = (n: number, extra: Partial<Figures> = {}): Figures => ({
  ...healthy,
  requests: n,
  finished: n,
  ...extra,
});
const settings = canarySettings({ enabled: true });
const check = (v: ReturnType<typeof judgeCanary>, name: string) => v.checks.find((c) => c.check === name);

describe('canary verdict', () => {
  it('passes a canary like the old workers, every check judged', () => {
    const v = judgeCanary(served(300, { latency: lat(11), loopDelay: 3 }), healthy, settings);
    expect(v).toMatchObject({ outcome: 'pass', proceed: true, reason: 'no regression' });
    expect(v.checks.map((c) => [c.check, c.ok])).toEqual([
      ['crash', true],
      ['traffic', true],
      ['errors', true],
      ['latency', true],
      ['loop-delay', true],
      ['rss', true],
    ]);
  });

  it('fails a canary answering 500 to a fifth of its requests, and says so', () => {
    const v = judgeCanary(served(200, { errors: 40 }), { ...healthy, errors: 1 }, settings);
    expect(v.outcome).toBe('fail');
    expect(v.proceed).toBe(false);
    expect(v.reason).toBe('failed requests (5xx or unfinished) 20% vs 0.1%');
    expect(check(v, 'errors')).toMatchObject({ canary: 0.2, baseline: 0.001, ok: false });
  });

  it('counts requests that never finished (reset, given up) as failed', () => {
    // 200 of 1,000 hung until their clients gave up: the other 800 were quick.
    const v = judgeCanary({ ...healthy, errors: 200, finished: 800 }, healthy, settings);
    expect(v.outcome).toBe('fail');
    // None finished at all: no latency to compare, and that is a failure too.
    const none = judgeCanary({ ...healthy, errors: 0, finished: 0, latency: lat(null) }, healthy, {
      ...settings,
      maxErrorRateIncrease: null,
    });
    expect(none.outcome).toBe('fail');
    expect(none.reason).toBe('no canary request finished (1000 never did)');
  });

  it('does not fail on a few errors that are no evidence at this traffic', () => {
    // 2 in 100 against none: more than one point higher, but not significantly at 99%.
    const v = judgeCanary(served(100, { errors: 2 }), healthy, settings);
    expect(v.outcome).toBe('pass');
    // The same share over 5,000 requests is.
    expect(judgeCanary(served(5_000, { errors: 100 }), healthy, settings).outcome).toBe('fail');
  });

  it('fails a canary three times slower, and not one slower only within the slack', () => {
    const slow = judgeCanary({ ...healthy, latency: lat(30) }, healthy, settings);
    expect(slow.outcome).toBe('fail');
    expect(slow.reason).toBe('p99 latency 30 ms vs 10 ms');
    // 0.3 ms vs 0.1 ms: three times, but 0.2 ms more is within the 5 ms slack.
    expect(
      judgeCanary({ ...healthy, latency: lat(0.3) }, { ...healthy, latency: lat(0.1) }, settings).outcome,
    ).toBe('pass');
    // Over the slack but under the ratio.
    expect(
      judgeCanary({ ...healthy, latency: lat(140) }, { ...healthy, latency: lat(100) }, settings).outcome,
    ).toBe('pass');
  });

  it('compares a lower percentile when too few requests finished for the one asked, and says so', () => {
    // 150 requests: p99 would be the worst two; p90 has its 100.
    const canary = served(150, { latency: { p50: 10, p90: 11, p95: 12, p99: 1_750, mean: 30 } });
    const v = judgeCanary(canary, healthy, settings);
    expect(v.outcome).toBe('pass');
    expect(check(v, 'latency')).toMatchObject({
      canary: 11,
      limit: 'p90 at most 1.5x or +5 ms (too few requests for p99)',
      ok: true,
    });
    // With too few for any percentile, latency is not judged.
    const few = judgeCanary(served(15), served(15), { ...settings, minRequests: 10 });
    expect(check(few, 'latency')).toMatchObject({
      ok: null,
      limit: 'p99: too few finished requests to judge',
    });
  });

  it('fails a crashed canary whatever its figures', () => {
    const v = judgeCanary(served(0, { exits: 1 }), healthy, settings);
    expect(v).toMatchObject({ outcome: 'fail', reason: 'a canary exited (1)' });
  });

  it('calls too little traffic its own outcome, which proceeds only when configured to', () => {
    const few = served(20);
    const fail = judgeCanary(few, healthy, settings);
    expect(fail).toMatchObject({ outcome: 'insufficient', proceed: false });
    expect(fail.reason).toMatch(
      /too little traffic to judge: 20 canary and 1000 baseline requests, 100 needed each/,
    );
    expect(check(fail, 'errors')?.ok).toBeNull();
    expect(check(fail, 'latency')?.ok).toBeNull();
    const pass = judgeCanary(few, healthy, { ...settings, insufficientTraffic: 'pass' });
    expect(pass).toMatchObject({ outcome: 'insufficient', proceed: true });
    // A regression that needs no traffic to see still fails it: memory, the loop, and errors that are
    // significant even on few requests.
    expect(judgeCanary({ ...few, rss: 200 * MiB }, healthy, settings).outcome).toBe('fail');
    expect(judgeCanary({ ...few, loopDelay: 200 }, healthy, settings).outcome).toBe('fail');
    const allFailing = judgeCanary(served(99, { errors: 99 }), healthy, {
      ...settings,
      insufficientTraffic: 'pass',
    });
    expect(allFailing).toMatchObject({ outcome: 'fail', proceed: false });
  });

  it('fails on memory and event-loop delay, and skips a check turned off', () => {
    expect(judgeCanary({ ...healthy, rss: 100 * MiB }, healthy, settings).reason).toBe(
      'RSS 100 MiB vs 60 MiB',
    );
    const off = { ...settings, maxRssRatio: null, maxLatencyRatio: null, maxErrorRateIncrease: null };
    const v = judgeCanary({ ...healthy, rss: 100 * MiB, latency: lat(100), errors: 500 }, healthy, off);
    expect(v.outcome).toBe('pass');
    expect(check(v, 'rss')).toMatchObject({ ok: null, limit: 'not judged' });
  });
});

describe('statistics', () => {
  it('gives the normal quantiles', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.99)).toBeCloseTo(2.326348, 5);
    expect(normalQuantile(0.9999)).toBeCloseTo(3.719016, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });

  it('tests one share against another with a margin', () => {
    expect(significantlyHigher(40, 200, 0, 1_000, 0.01, 0.99)).toBe(true);
    expect(significantlyHigher(2, 100, 0, 1_000, 0.01, 0.99)).toBe(false);
    // No variance: the plain comparison.
    expect(significantlyHigher(10, 10, 0, 10, 0.01, 0.99)).toBe(true);
    expect(significantlyHigher(0, 10, 0, 10, 0, 0.99)).toBe(false);
    expect(significantlyHigher(1, 0, 0, 10, 0, 0.99)).toBe(false);
  });
});
