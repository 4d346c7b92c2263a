// The app options PM2 knows (lib/API/schema.json) and every spelling it accepts for them: the listed
// aliases, the camelCase form PM2 derives for each (`max_memory_restart` -> `maxMemoryRestart`), and
// `cmd`/`command` for `script`. One app's keys sorted into what each stands for.

/** Every app option of PM2's schema, by its canonical name. */
export const PM2_OPTIONS = [
  'script',
  'name',
  'name_prefix',
  'filter_env',
  'namespace',
  'install_url',
  'cwd',
  'args',
  'exec_interpreter',
  'node_args',
  'out_file',
  'error_file',
  'log_file',
  'disable_logs',
  'log_type',
  'log_date_format',
  'time',
  'env',
  'max_memory_restart',
  'pid_file',
  'restart_delay',
  'exp_backoff_restart_delay',
  'source_map_support',
  'disable_source_map_support',
  'wait_ready',
  'instances',
  'kill_timeout',
  'shutdown_with_message',
  'listen_timeout',
  'cron_restart',
  'merge_logs',
  'vizion',
  'autostart',
  'autorestart',
  'stop_exit_codes',
  'watch_delay',
  'watch',
  'ignore_watch',
  'watch_options',
  'min_uptime',
  'max_restarts',
  'execute_command',
  'exec_mode',
  'force',
  'append_env_to_name',
  'post_update',
  'trace',
  'disable_trace',
  'v8',
  'event_loop_inspector',
  'deep_monitoring',
  'increment_var',
  'instance_var',
  'pmx',
  'automation',
  'treekill',
  'port',
  'username',
  'uid',
  'gid',
  'windowsHide',
  'kill_retry_time',
  'write',
  'io',
] as const;

export type Pm2Option = (typeof PM2_OPTIONS)[number];

const ALIASES: Partial<Record<Pm2Option, readonly string[]>> = {
  script: ['exec', 'cmd', 'command'],
  exec_interpreter: ['interpreter'],
  node_args: ['interpreter_args', 'interpreterArgs'],
  out_file: ['out', 'output', 'out_log'],
  error_file: ['error', 'err', 'err_file', 'err_log'],
  log_file: ['log'],
  pid_file: ['pid'],
  cron_restart: ['cron'],
  merge_logs: ['combine_logs'],
  uid: ['user'],
};

// PM2's camelCase alias: each part after the first, if longer than one letter, capitalized.
const camel = (name: string) =>
  name
    .split('_')
    .map((part, i) => (i > 0 && part.length > 1 ? `${part.charAt(0).toUpperCase()}${part.slice(1)}` : part))
    .join('');

const SPELLINGS = new Map<string, Pm2Option>();
for (const name of PM2_OPTIONS) SPELLINGS.set(name, name);
for (const name of PM2_OPTIONS) {
  for (const alias of [...(ALIASES[name] ?? []), camel(name)])
    if (!SPELLINGS.has(alias)) SPELLINGS.set(alias, name);
}

/** One option of an app as the file spells it. */
export interface Found {
  /** The key as written. */
  key: string;
  value: unknown;
}

export interface SortedOptions {
  /** Options PM2 knows, by canonical name (an alias wins only when the canonical key is absent). */
  options: Map<Pm2Option, Found>;
  /** `env_<name>` keys: the environments of `pm2 start --env <name>`. */
  environments: Found[];
  /** A second spelling of an option already given, which PM2 does not read either. */
  shadowed: (Found & { by: string })[];
  /** Keys set to null or undefined: PM2 takes its default for them. */
  unset: Found[];
  /** Keys PM2 does not know (and drops). */
  unknown: Found[];
}

/** Sorts the keys of one PM2 app into the options they stand for. */
export function sortOptions(app: Record<string, unknown>): SortedOptions {
  const sorted: SortedOptions = {
    options: new Map(),
    environments: [],
    shadowed: [],
    unset: [],
    unknown: [],
  };
  for (const [key, value] of Object.entries(app)) {
    const found = { key, value };
    if (value === null || value === undefined) sorted.unset.push(found);
    else if (/^env_\S*$/.test(key)) sorted.environments.push(found);
    else {
      const name = SPELLINGS.get(key);
      if (name === undefined) {
        sorted.unknown.push(found);
        continue;
      }
      const before = sorted.options.get(name);
      if (!before) sorted.options.set(name, found);
      else if (key === name) {
        sorted.options.set(name, found);
        sorted.shadowed.push({ ...before, by: key });
      } else sorted.shadowed.push({ ...found, by: before.key });
    }
  }
  return sorted;
}
