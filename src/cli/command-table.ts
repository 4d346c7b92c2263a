// The command line as data: every option once (its type, and the word its value stands for in the
// help), and every command with the options it takes. The parser (command-line.ts), its "did you mean"
// hints and the help text (help.ts) all read these tables: a command cannot quietly accept an option it
// ignores, and the help cannot promise one the parser refuses.

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** What the value stands for, in the help (`--env NAME`). */
  value?: string;
}

export const OPTIONS = {
  config: { type: 'string', value: 'PATH' },
  env: { type: 'string', value: 'NAME' },
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  'watch-config': { type: 'boolean' },
  'log-format': { type: 'string', value: 'json|pretty' },
  'log-file': { type: 'string', value: 'FILE' },
  detach: { type: 'boolean' },
  health: { type: 'string', value: '[HOST:]PORT' },
  timeout: { type: 'string', value: 'DURATION' },
  canary: { type: 'boolean' },
  'no-canary': { type: 'boolean' },
  lines: { type: 'string', value: 'N' },
  follow: { type: 'boolean', short: 'f' },
  worker: { type: 'string', value: 'N' },
  cpu: { type: 'string', value: 'DURATION' },
  name: { type: 'string', value: 'NAME' },
  output: { type: 'string', short: 'o', value: 'FILE' },
  force: { type: 'boolean' },
  format: { type: 'string', value: 'json|yaml|ts' },
  script: { type: 'string', value: 'FILE' },
  image: { type: 'string', value: 'IMAGE' },
  namespace: { type: 'string', value: 'NS' },
  replicas: { type: 'string', value: 'N' },
  cpus: { type: 'string', value: 'N' },
  workdir: { type: 'string', value: 'DIR' },
  'health-port': { type: 'string', value: 'PORT' },
  cwd: { type: 'string', value: 'DIR' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** What every command takes besides its own options. */
export const GLOBAL: readonly OptionName[] = ['help', 'version'];

export type Section = 'Run' | 'Set up' | 'Migrate' | 'Control';

export interface CommandSpec {
  /** As typed: `status`, `export systemd`; `start <app>` is the control form of `start`. */
  name: string;
  /** The arguments, for the help (`[config]`, `<app> <N|+N|-N>`). */
  args: string;
  options: readonly OptionName[];
  /** Placeholders other than the option's own (`--name UNIT` for a systemd unit). */
  values?: Partial<Record<OptionName, string>>;
  /** Options it refuses with a reason of their own rather than the list of those it takes. */
  refuses?: Partial<Record<OptionName, string>>;
  section: Section;
  /** The help's description, one entry a line. */
  help: readonly string[];
}

const CONTROL: readonly OptionName[] = ['config', 'json'];
const WAITING: readonly OptionName[] = ['config', 'json', 'timeout'];

// In the order `--x applies to ...` lists them; the help groups them by section.
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'start',
    args: '[config]',
    options: ['env', 'watch', 'watch-config', 'log-format', 'log-file', 'detach', 'health'],
    section: 'Run',
    help: [
      'Run every app, in the foreground (SIGINT/SIGTERM stop gracefully, twice: at',
      'once; SIGUSR2 reloads every app; SIGHUP re-reads the config), or with',
      '--detach in the background, returning once every app is ready; --health',
      'serves /livez, /readyz and /metrics (default host 127.0.0.1)',
    ],
  },
  {
    name: 'validate',
    args: '[config]',
    options: ['env', 'json'],
    section: 'Run',
    help: ['Check a config and print what it resolves to'],
  },
  { name: 'schema', args: '', options: [], section: 'Run', help: ["Print the config's JSON Schema"] },
  {
    name: 'export systemd',
    args: '[config]',
    options: ['env', 'name', 'output', 'force'],
    values: { name: 'UNIT' },
    section: 'Run',
    help: [
      'Print a systemd service unit for the config (Type=notify, watchdog,',
      'reload, stop timeout from its shutdown settings), or write it to FILE',
    ],
  },
  {
    name: 'export kubernetes',
    args: '[config] --image IMAGE',
    options: [
      'image',
      'env',
      'name',
      'namespace',
      'replicas',
      'cpus',
      'workdir',
      'health-port',
      'output',
      'force',
    ],
    section: 'Run',
    help: [
      'Print a Deployment and a Service for the config (probes on the health',
      'server, grace period from its shutdown settings, instances "max" as --cpus);',
      'run it from the project directory the image holds at --workdir (/app)',
    ],
  },
  {
    name: 'init',
    args: '[dir]',
    options: ['format', 'name', 'script', 'force'],
    section: 'Set up',
    help: [
      'Write a starter config for the project in dir (default: here): the app',
      'named and started as package.json says (its start script when that runs',
      'a Node.js file, else main), as cluster.config.<format> (json by default;',
      'yaml and ts explain each key in comments); never over an existing config',
      'without --force',
    ],
  },
  {
    name: 'import pm2',
    args: '<file>',
    options: ['format', 'output', 'force', 'cwd'],
    values: { output: 'FILE|-' },
    refuses: {
      env: 'each env_<name> becomes environments.<name>, chosen with clusterd start --env <name>',
    },
    section: 'Migrate',
    help: [
      'Write a clusterd config from a PM2 ecosystem file (.js, .cjs, .mjs, .json,',
      '.json5, .yaml, .yml), as cluster.config.<format> in the project root (the',
      'nearest directory with a package.json at or above the file, or --cwd DIR:',
      'where pm2 start ran, which PM2 took relative paths from), or FILE, or on',
      'stdout with -o -; stderr gets a table of what became of each PM2 option.',
      'Reading a .js file runs it, as PM2 does (so does a .json file that is not',
      'strict JSON, which PM2 evaluates as JavaScript): import only files you trust',
    ],
  },
  {
    name: 'status',
    args: '',
    options: CONTROL,
    section: 'Control',
    help: ['Apps and workers: pid, state, restarts, uptime, CPU, memory, req/s, 5xx, p99, script'],
  },
  {
    name: 'reload',
    args: '[app]',
    options: [...WAITING, 'canary', 'no-canary'],
    section: 'Control',
    help: [
      'Rolling reload; waits, and fails if a new worker does not get ready. --canary',
      'judges the first replacements on live traffic first (reload.canary), --no-canary',
      'skips that for once; a rolled-back canary exits 4, too little traffic 5',
    ],
  },
  {
    name: 'restart',
    args: '[app]',
    options: WAITING,
    section: 'Control',
    help: ['Hard restart: stop all workers, start new ones; waits until they serve'],
  },
  {
    name: 'scale',
    args: '<app> <N|+N|-N>',
    options: WAITING,
    section: 'Control',
    help: ['Run N workers; waits until new ones serve or old ones have stopped'],
  },
  {
    name: 'stop',
    args: '[app]',
    options: WAITING,
    section: 'Control',
    help: ['Stop one app (the others keep running), or everything'],
  },
  {
    name: 'start <app>',
    args: '',
    options: WAITING,
    section: 'Control',
    help: [
      'Start an app stopped with clusterd stop <app>; waits until it serves.',
      'These five wait at most --timeout DURATION (30s, 2m; by default a bound',
      "derived from the app's readyTimeout, reload.parallel, reload.order and shutdown.timeout)",
    ],
  },
  { name: 'shutdown', args: '', options: CONTROL, section: 'Control', help: ['Stop everything'] },
  {
    name: 'logs',
    args: '[app]',
    options: ['lines', 'follow', ...CONTROL],
    section: 'Control',
    help: ['Recent output, then (with --follow) live output'],
  },
  {
    name: 'events',
    args: '[app]',
    options: CONTROL,
    section: 'Control',
    help: ["The supervisor's events (workers, apps, reloads, guards) as they happen"],
  },
  {
    name: 'monit',
    args: '[app]',
    options: ['config'],
    section: 'Control',
    help: [
      'A live full-screen view: workers, CPU, memory, req/s, p99, sparklines, events',
      'and output; keys reload, restart, scale (confirmed); `status` when not a terminal',
    ],
  },
  {
    name: 'send',
    args: '<app> <topic> <json>',
    options: ['worker', ...CONTROL],
    section: 'Control',
    help: [
      "A message to the app's workers' onMessage(topic) handlers (clusterd/worker):",
      'every live worker, or --worker N; prints the workers it was handed to',
    ],
  },
  {
    name: 'profile',
    args: '<app> [worker]',
    options: ['cpu', 'output', ...CONTROL],
    values: { output: 'PATH' },
    section: 'Control',
    help: [
      "A CPU profile of one of the app's workers (by default the first ready one) over",
      '--cpu DURATION (10s; at most 5m), written as a .cpuprofile in this directory or',
      'at -o PATH (mode 0600, never over a file); no port opened, no restart',
    ],
  },
  {
    name: 'heap',
    args: '<app> <worker>',
    options: ['output', ...CONTROL],
    values: { output: 'PATH' },
    section: 'Control',
    help: [
      "A heap snapshot of the app's worker <worker>, written as a .heapsnapshot as profile",
      'writes; the worker pauses while it is taken (its heartbeat guard with it)',
    ],
  },
  {
    name: 'up',
    args: '[config]',
    options: ['env', 'timeout', 'json', 'config', 'canary', 'no-canary'],
    section: 'Run',
    help: [
      'Deploy: start clusterd in the background if none runs for the config, else',
      "apply the config file's changes and reload every app they did not roll or",
      'restart (new code on disk); waits, prints what changed, non-zero if an app',
      'did not end ready (a failed reload rolls back: the old workers keep serving)',
    ],
  },
];
