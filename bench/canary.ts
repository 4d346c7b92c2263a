// Canary reloads (issue 31): what a deploy of a bad release costs the clients, and how fast the canary
// decides. One app of 4 instances (`bench/apps/canary-release.cjs`, which reads its behaviour from a
// release file at its start, as new code on disk) under steady loopback traffic: 4 loops, a fresh
// connection per request (so round-robin spreads new connections over every worker serving, canaries
// included), 2 ms apart.
// - **A bad release** (500 to every 5th request a worker serves) deployed under clusterd with `reload
//   web --canary` (warmup 2 s, observe 10 s) and under PM2 7's cluster mode with `pm2 reload`: failed
//   requests (5xx, refused, reset) among those started from the deploy command's start until 15 s after
//   it (a fixed span, the same for both), the share failing in that span's last second (PM2: all
//   workers replaced, about 20 %; clusterd: 0 once the canary is drained), and the command's duration.
//   Bare node:cluster has no reload to compare (its kill-and-fork in bench/reload.ts would roll the bad
//   release out as PM2 does, with refused connections on top): not measured.
// - **The canary's decisions** (clusterd only): from the window's end (the `observing` event's time +
//   observe) to the `judged` event (the end measurement and the verdict; the root stamps both events as
//   it logs them, a few ms of IPC apart, so the same span is also read on the primary's own clock: the
//   verdict's `observed` less observe), and from `judged` to the reload's answer (the command's exit);
//   the canary's start to ready (`reload: started` to `canary: started`) and the window's start
//   measurement (`canary: started` + warmup to `observing`); from a canary's crash (a release that
//   exits 4 s after its first request, during the window; it prints the time) to `judged` and to the
//   answer; and what the canary adds to a good release's deploy: `reload --canary` against `reload
//   --no-canary` of the same app (should be about warmup + observe, 12 s).
// Every scenario starts a fresh clusterd (or PM2 daemon); rounds interleaved, the first rotating every
// round; medians, single rounds in brackets. About 70 s a round.
// Run: npm run build && node bench/canary.ts [rounds]   (default 3)
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLUSTERD,
  freePort,
  launchClusterd,
  median,
  ROOT,
  stop,
  table,
  tempConfig,
  writeResult,
} from './lib.ts';
import { ensurePm2, pm2 } from './pm2.ts';
import { answering } from './targets.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const APP = join(ROOT, 'bench/apps/canary-release.cjs');
const INSTANCES = 4;
const LOOPS = 4;
const PACE_MS = 2;
const WARMUP_MS = 2_000;
const OBSERVE_MS = 10_000;
/** Requests started from the deploy's start until this long after it are counted (bad release). */
const SPAN_MS = 15_000;
/** The span's last stretch: the share failing "at the end". */
const TAIL_MS = 1_000;
/** Traffic before the deploy, so that both sides are warm and the old workers have counts. */
const BEFORE_MS = 2_000;
/** Traffic after a deploy that is not the bad release's (no fixed span): late failures are seen. */
const AFTER_MS = 500;
const CRASH_AFTER_MS = 4_000;

interface Release {
  name: string;
  errorEvery?: number;
  crashAfterMs?: number;
}
const OLD: Release = { name: 'one' };
const GOOD: Release = { name: 'two' };
const BAD: Release = { name: 'bad', errorEvery: 5 };
const CRASHING: Release = { name: 'crashing', crashAfterMs: CRASH_AFTER_MS };

/** Epoch milliseconds with a fraction: comparable with the `time` of clusterd's JSON events. */
const now = () => performance.timeOrigin + performance.now();

interface Outcome {
  start: number;
  /** HTTP status, or 0 for a request that got no answer (refused, reset, timed out). */
  status: number;
}

/** Sequential GETs on `LOOPS` loops, each on a fresh connection, until `stop()`; every outcome kept. */
function traffic(port: number) {
  let running = true;
  const outcomes: Outcome[] = [];
  const once = () =>
    new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
  const loops = Array.from({ length: LOOPS }, async () => {
    while (running) {
      const start = now();
      outcomes.push({ start, status: await once() });
      await sleep(PACE_MS);
    }
  });
  return {
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

interface Command {
  code: number | null;
  began: number;
  ended: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the traffic goes on meanwhile). */
function command(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Command> {
  const began = now();
  const [file, ...args] = argv as [string, ...string[]];
  const child: ChildProcess = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, began, ended: now(), stdout, stderr });
    });
  });
}

interface Sample {
  /** The deploy command's exit code. */
  code: number | null;
  deployMs: number;
  /** Requests started in the counted span (bad release: SPAN_MS; others: until the deploy ended + AFTER_MS). */
  requests: number;
  failed: number;
  /** Of the failed, answered 5xx (the rest got no answer). */
  failed5xx: number;
  /** Bad release: the share of requests failing in the span's last TAIL_MS. */
  endShare?: number;
  /** clusterd: the `judged` event's time less the window's end (`observing` + observe), ms (root's log). */
  windowEndToJudgedMs?: number;
  /** clusterd: the verdict's `observed` less observe, ms: the same span on the primary's own clock. */
  observedPastWindowMs?: number;
  /** clusterd: `observing` less `canary: started` less warmup: the window's start measurement, ms. */
  startMeasureMs?: number;
  /** clusterd: `canary: started` less `reload: started`: the canary's start to ready, ms. */
  canaryReadyMs?: number;
  /** clusterd: the deploy command's exit less the `judged` event's time, ms. */
  judgedToAnswerMs?: number;
  /** Crash: the `judged` event's time less the time the canary crashed at, ms. */
  crashToJudgedMs?: number;
  /** Crash: the deploy command's exit less the time the canary crashed at, ms. */
  crashToAnswerMs?: number;
  /** clusterd: the canaries' share of the window's requests (from the verdict's traffic check). */
  canaryShare?: number;
  outcome?: string;
}

type Scenario = 'bad' | 'good' | 'crash';

function countFailures(outcomes: Outcome[], from: number, to: number) {
  const inSpan = outcomes.filter((o) => o.start >= from && o.start < to);
  const failed = inSpan.filter((o) => o.status !== 200);
  return {
    requests: inSpan.length,
    failed: failed.length,
    failed5xx: failed.filter((o) => o.status >= 500).length,
  };
}

/** What the deploy did to the traffic, the same way for every target. */
async function measureDeploy(
  port: number,
  scenario: Scenario,
  deploy: () => Promise<Command>,
): Promise<{ sample: Sample; command: Command }> {
  const load = traffic(port);
  await sleep(BEFORE_MS);
  // The deploy starts when the new release lands on disk, just before its command.
  const began = now();
  const running = deploy();
  let result: Command;
  let spanEnd: number;
  if (scenario === 'bad') {
    spanEnd = began + SPAN_MS;
    await sleep(SPAN_MS);
    result = await running;
    if (result.ended > spanEnd)
      console.error(`the deploy outlasted the ${SPAN_MS} ms span (${Math.round(result.ended - began)} ms)`);
  } else {
    result = await running;
    await sleep(AFTER_MS);
    spanEnd = now();
  }
  const outcomes = await load.stop();
  const counts = countFailures(outcomes, began, spanEnd);
  const tail = countFailures(outcomes, spanEnd - TAIL_MS, spanEnd);
  return {
    command: result,
    sample: {
      code: result.code,
      deployMs: result.ended - result.began,
      ...counts,
      ...(scenario === 'bad' ? { endShare: tail.requests ? tail.failed / tail.requests : 0 } : {}),
    },
  };
}

async function clusterdDeploy(scenario: Scenario, canary: boolean): Promise<Sample> {
  const port = await freePort();
  const { dir, file } = tempConfig({});
  const releaseFile = join(dir, 'release.json');
  writeFileSync(
    file,
    JSON.stringify({
      apps: [
        {
          name: 'web',
          script: APP,
          instances: INSTANCES,
          env: { PORT: String(port), RELEASE_FILE: releaseFile },
          reload: { canary: { warmup: `${WARMUP_MS}ms`, observe: `${OBSERVE_MS}ms` } },
        },
      ],
    }),
  );
  writeFileSync(releaseFile, JSON.stringify(OLD));
  const { child, events, done } = launchClusterd(file, (e) => e.app === 'web' && e.to === 'running');
  try {
    await done;
    await answering(port, INSTANCES);
    const next = scenario === 'bad' ? BAD : scenario === 'crash' ? CRASHING : GOOD;
    const from = events.length;
    const { sample, command: result } = await measureDeploy(port, scenario, () => {
      writeFileSync(releaseFile, JSON.stringify(next));
      return command([process.execPath, CLUSTERD, 'reload', 'web', canary ? '--canary' : '--no-canary'], {
        cwd: dir,
      });
    });
    const after = events.slice(from);
    const reloadStarted = after.find((e) => e.reload === 'started');
    const canaryStarted = after.find((e) => e.canary === 'started');
    const observing = after.find((e) => e.canary === 'observing');
    const judged = after.find((e) => e.canary === 'judged');
    const crashed = after
      .map((e) => /"crashedAt":(\d+)/.exec(String(e.msg ?? ''))?.[1])
      .find((t) => t !== undefined);
    const traffic = (
      judged?.checks as { check: string; canary: number; baseline: number }[] | undefined
    )?.find((c) => c.check === 'traffic');
    const judgedAt = judged ? Number(judged.time) : undefined;
    if (result.code !== (scenario === 'good' ? 0 : 4))
      console.error(`clusterd ${scenario}: reload exited ${result.code}\n${result.stdout}${result.stderr}`);
    return {
      ...sample,
      ...(judged ? { outcome: String(judged.outcome) } : {}),
      // A crash ends the window early: there is no window's end to time the verdict from.
      ...(observing && judgedAt !== undefined && !crashed
        ? {
            windowEndToJudgedMs: judgedAt - (Number(observing.time) + OBSERVE_MS),
            observedPastWindowMs: Number(judged?.observed) - OBSERVE_MS,
          }
        : {}),
      ...(observing && canaryStarted
        ? { startMeasureMs: Number(observing.time) - Number(canaryStarted.time) - WARMUP_MS }
        : {}),
      ...(canaryStarted && reloadStarted
        ? { canaryReadyMs: Number(canaryStarted.time) - Number(reloadStarted.time) }
        : {}),
      ...(judgedAt !== undefined ? { judgedToAnswerMs: result.ended - judgedAt } : {}),
      ...(crashed && judgedAt !== undefined
        ? { crashToJudgedMs: judgedAt - Number(crashed), crashToAnswerMs: result.ended - Number(crashed) }
        : {}),
      ...(traffic && !crashed ? { canaryShare: traffic.canary / (traffic.canary + traffic.baseline) } : {}),
    };
  } finally {
    await stop(child);
  }
}

async function pm2Deploy(): Promise<Sample> {
  const port = await freePort();
  const cli = pm2();
  const bin = ensurePm2();
  try {
    const { dir } = tempConfig({});
    const releaseFile = join(dir, 'release.json');
    writeFileSync(releaseFile, JSON.stringify(OLD));
    const ecosystem = join(dir, 'ecosystem.config.json');
    writeFileSync(
      ecosystem,
      JSON.stringify({
        apps: [
          {
            name: 'web',
            script: APP,
            exec_mode: 'cluster',
            instances: INSTANCES,
            env: { PORT: String(port), RELEASE_FILE: releaseFile },
          },
        ],
      }),
    );
    cli.run(['start', ecosystem]);
    await answering(port, INSTANCES);
    const { sample } = await measureDeploy(port, 'bad', () => {
      writeFileSync(releaseFile, JSON.stringify(BAD));
      return command([process.execPath, bin, 'reload', 'web'], {
        env: { ...process.env, PM2_HOME: cli.home },
      });
    });
    if (sample.code !== 0) console.error(`pm2 reload exited ${sample.code}`);
    return sample;
  } finally {
    cli.kill();
  }
}

const targets = {
  'bad release: clusterd reload --canary': () => clusterdDeploy('bad', true),
  'bad release: PM2 7 pm2 reload': pm2Deploy,
  'crash 4 s into serving: clusterd reload --canary': () => clusterdDeploy('crash', true),
  'good release: clusterd reload --canary': () => clusterdDeploy('good', true),
  'good release: clusterd reload --no-canary': () => clusterdDeploy('good', false),
} as const;
type Name = keyof typeof targets;

const names = Object.keys(targets) as Name[];
const samples = Object.fromEntries(names.map((n) => [n, [] as Sample[]])) as Record<Name, Sample[]>;
const started = Date.now();
// Other work on the machine moves these figures: the load average at the start and the end says how much.
const loadAtStart = loadavg()[0];
for (let round = 0; round < ROUNDS; round++) {
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
  for (const name of order) {
    const sample = await targets[name]();
    samples[name].push(sample);
    console.error(`round ${round + 1} ${name}: ${JSON.stringify(sample)}`);
  }
}

/** The median of a field over a target's rounds, and each round's value. */
function figure(name: Name, pick: (s: Sample) => number | undefined, digits = 0) {
  const values = samples[name].map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const round = (v: number) => +v.toFixed(digits);
  return values.length
    ? { median: round(median(values)), each: values.map(round) }
    : { median: Number.NaN, each: [] as number[] };
}
const cell = (f: { median: number; each: number[] }, unit = '') =>
  f.each.length ? `${f.median}${unit} (${f.each.join(' ')})` : '-';
const pct = (f: { median: number; each: number[] }) =>
  f.each.length
    ? `${(f.median * 100).toFixed(1)}% (${f.each.map((v) => (v * 100).toFixed(1)).join(' ')})`
    : '-';

const ours: Name = 'bad release: clusterd reload --canary';
const theirs: Name = 'bad release: PM2 7 pm2 reload';
const bad = [ours, theirs].map((name) => ({
  name,
  codes: samples[name].map((s) => s.code).join(' '),
  deploy: figure(name, (s) => s.deployMs / 1000, 1),
  failed: figure(name, (s) => s.failed),
  failedShare: figure(name, (s) => s.failed / s.requests, 4),
  failed5xx: figure(name, (s) => s.failed5xx),
  requests: figure(name, (s) => s.requests),
  endShare: figure(name, (s) => s.endShare, 3),
  canaryShare: figure(name, (s) => s.canaryShare, 3),
}));
console.log(
  `\nA bad release (500 to every 5th request) deployed, ${INSTANCES} instances, ${SPAN_MS / 1000} s counted`,
);
console.log(
  table([
    [
      'target',
      'exit',
      'deploy s',
      'failed',
      'of which 5xx',
      'requests',
      'failed share',
      'failing at the end',
      'canary share',
    ],
    ...bad.map((b) => [
      b.name,
      b.codes,
      cell(b.deploy),
      cell(b.failed),
      cell(b.failed5xx),
      cell(b.requests),
      pct(b.failedShare),
      pct(b.endShare),
      pct(b.canaryShare),
    ]),
  ]),
);
const ratio = +((bad[0]?.failed.median ?? 0) / (bad[1]?.failed.median ?? 1)).toFixed(3);
// The two serve different numbers of requests in the same span: the shares compare what a client sees.
const shareRatio = +((bad[0]?.failedShare.median ?? 0) / (bad[1]?.failedShare.median ?? 1)).toFixed(3);
console.log(`failed requests, clusterd / PM2: ${ratio} (their shares of the requests: ${shareRatio})`);

const decisions = (Object.keys(targets) as Name[])
  .filter((n) => n.includes('clusterd'))
  .map((name) => ({
    name,
    codes: samples[name].map((s) => s.code).join(' '),
    outcomes: samples[name].map((s) => s.outcome ?? '-').join(' '),
    deploy: figure(name, (s) => s.deployMs / 1000, 2),
    canaryReadyMs: figure(name, (s) => s.canaryReadyMs),
    startMeasureMs: figure(name, (s) => s.startMeasureMs),
    windowEndToJudgedMs: figure(name, (s) => s.windowEndToJudgedMs),
    observedPastWindowMs: figure(name, (s) => s.observedPastWindowMs),
    judgedToAnswerMs: figure(name, (s) => s.judgedToAnswerMs),
    crashToJudgedMs: figure(name, (s) => s.crashToJudgedMs),
    crashToAnswerMs: figure(name, (s) => s.crashToAnswerMs),
    failed: figure(name, (s) => s.failed),
  }));
console.log(`\nclusterd's canary decisions (warmup ${WARMUP_MS / 1000} s, observe ${OBSERVE_MS / 1000} s)`);
console.log(
  table([
    [
      'deploy',
      'exit',
      'verdict',
      'deploy s',
      'canary ready ms',
      'start measure ms',
      'window end -> judged ms',
      'primary: observed - observe ms',
      'judged -> answer ms',
      'crash -> judged ms',
      'crash -> answer ms',
      'failed',
    ],
    ...decisions.map((d) => [
      d.name,
      d.codes,
      d.outcomes,
      cell(d.deploy),
      cell(d.canaryReadyMs),
      cell(d.startMeasureMs),
      cell(d.windowEndToJudgedMs),
      cell(d.observedPastWindowMs),
      cell(d.judgedToAnswerMs),
      cell(d.crashToJudgedMs),
      cell(d.crashToAnswerMs),
      cell(d.failed),
    ]),
  ]),
);
const withCanary = figure('good release: clusterd reload --canary', (s) => s.deployMs);
const without = figure('good release: clusterd reload --no-canary', (s) => s.deployMs);
const addedMs = Math.round(withCanary.median - without.median);
console.log(
  `a good deploy with its canary takes ${addedMs} ms longer than without (warmup + observe: ${WARMUP_MS + OBSERVE_MS} ms)`,
);
console.log(
  `\n${ROUNDS} rounds in ${Math.round((Date.now() - started) / 1000)} s, load average ${loadAtStart?.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end; written to ${writeResult(
    'canary',
    {
      rounds: ROUNDS,
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
      instances: INSTANCES,
      loops: LOOPS,
      warmupMs: WARMUP_MS,
      observeMs: OBSERVE_MS,
      spanMs: SPAN_MS,
      badRelease: Object.fromEntries(bad.map(({ name, ...rest }) => [name, rest])),
      failedRatio: ratio,
      failedShareRatio: shareRatio,
      decisions: Object.fromEntries(decisions.map(({ name, ...rest }) => [name, rest])),
      canaryAddsMs: addedMs,
      samples,
    },
  )}`,
);
