// The one place built-in defaults live. The schema's `default` annotations document the same values,
// and test/config/schema-agreement.test.ts checks the two agree.
import type { Canary, Defaults } from './types.generated.js';

/** What every app gets for a key that neither it nor the config's `defaults` sets. */
export const BUILTIN_DEFAULTS = {
  nodeArgs: [],
  instances: 'max',
  env: {},
  envFile: [],
  environments: {},
  restart: {
    policy: 'on-failure',
    backoff: { initial: '100ms', factor: 2, max: '15s' },
    maxRestarts: 10,
    stableAfter: '10s',
    noRestartExitCodes: [],
  },
  readiness: 'listening',
  readyTimeout: '30s',
  readySettle: '1s',
  shutdown: { signal: 'SIGTERM', timeout: '5s', delay: '0s', spread: '0s' },
  watch: { enabled: false, paths: ['.'], ignore: [], debounce: '150ms', usePolling: false },
  reload: { parallel: 1, order: 'start-first', canary: false },
  balancing: 'round-robin',
  stickyHeader: null,
  instanceVar: null,
  incrementVar: null,
  serialization: 'json',
  requestMetrics: true,
  compileCache: false,
  logs: { file: null, errorFile: null, timestamp: false, maxSize: '10MB', maxFiles: 5 },
  guards: {
    memory: { limit: null, hardLimit: null, interval: '1s' },
    heartbeat: { timeout: null, interval: '1s' },
    recycle: { maxAge: null, cron: null, timezone: null, jitter: '0s' },
  },
  primary: { hangTimeout: '10s' },
  primaryGroup: null,
  user: null,
  group: null,
} as const satisfies Required<Defaults>;

/** What `health` gets for a key it does not set (its `port` is required). */
export const HEALTH_DEFAULTS = { host: '127.0.0.1', readyShare: 0.5, dashboard: null } as const;

/** Keys only an app may set (the rest can come from `defaults`). */
export const APP_ONLY_DEFAULTS = { args: [] } as const;

/** Watch ignores that always apply, whatever the app's `watch.ignore` adds. */
export const BUILTIN_WATCH_IGNORES: readonly string[] = [
  '**/node_modules/**',
  '**/.git/**',
  '**/.*',
  '**/*.log',
];

/** Platforms where `listen({ reusePort: true })` works (Node.js docs for `net.Server.listen`). */
export const REUSE_PORT_PLATFORMS: readonly NodeJS.Platform[] = ['linux', 'freebsd', 'sunos', 'aix'];

/** What `reload.canary: true` (or an object that leaves a key out) means: the schema's `canary` defaults. */
export const CANARY_DEFAULTS = {
  workers: 1,
  warmup: '5s',
  observe: '30s',
  weight: null,
  minRequests: 100,
  insufficientTraffic: 'fail',
  maxErrorRateIncrease: 0.01,
  confidence: 0.99,
  latency: 'p99',
  maxLatencyRatio: 1.5,
  latencySlack: '5ms',
  maxLoopDelayRatio: 2,
  loopDelaySlack: '20ms',
  maxRssRatio: 1.5,
} as const satisfies Required<Canary>;
