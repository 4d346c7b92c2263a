// The user an app runs as, and PM2's own features that clusterd has no counterpart for: each is
// harmless when it is off, and reported with what to do instead when it is on.
import type { Pm2Option } from './catalogue.js';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

interface Feature {
  /** The value asks for nothing clusterd does not do anyway. */
  off: (value: unknown) => boolean;
  why: string;
  /** The note when it is off (default: "off"). */
  offNote?: string;
  /** The verdict when it is on: `unsupported` (behaviour lost) unless it only changes PM2's commands. */
  kind?: 'changed' | 'unsupported';
}

const PM2_PLUS =
  'PM2 Plus (pm2.io) monitoring; clusterd serves Prometheus metrics instead (--health, /metrics)';
const isFalse = (v: unknown) => v === false;
const never = () => false;
const always = () => true;

const FEATURES: Partial<Record<Pm2Option, Feature>> = {
  name_prefix: { off: never, why: 'clusterd has no name prefixes: write the prefix into name' },
  namespace: {
    off: (v) => v === 'default',
    kind: 'changed',
    why: 'clusterd has no namespaces, which only group apps for pm2 commands (the apps run the same): a config file is one group with its own clusterd; split the apps into config files to manage them apart',
  },
  install_url: { off: never, why: 'clusterd installs nothing: install the app before clusterd start' },
  autostart: {
    off: (v) => v !== false,
    why: 'clusterd starts every app of its config; stop this one afterwards with clusterd stop <app>',
  },
  vizion: { off: isFalse, why: 'clusterd reads no version control metadata' },
  force: { off: isFalse, why: 'clusterd start refuses to run a second clusterd for the same config' },
  append_env_to_name: {
    off: isFalse,
    why: 'clusterd keeps app names as they are: --env selects variables only',
  },
  execute_command: {
    off: isFalse,
    why: 'a command line for PM2 to run: clusterd runs a program from its argument vector (`command`), never through a shell; the script and its arguments are written there',
  },
  post_update: { off: (v) => Array.isArray(v) && v.length === 0, why: PM2_PLUS },
  trace: { off: isFalse, why: PM2_PLUS },
  disable_trace: { off: (v) => v !== false, why: PM2_PLUS },
  v8: { off: isFalse, why: PM2_PLUS },
  event_loop_inspector: { off: isFalse, why: PM2_PLUS },
  deep_monitoring: { off: isFalse, why: PM2_PLUS },
  pmx: { off: isFalse, why: PM2_PLUS },
  automation: { off: isFalse, why: PM2_PLUS },
  io: { off: never, why: PM2_PLUS },
  treekill: {
    off: (v) => v !== false,
    why: 'clusterd always stops the processes a worker started along with it',
    offNote: 'clusterd stops the processes a worker started along with it',
  },
  disable_source_map_support: {
    off: always,
    why: '',
    offNote: 'clusterd adds no source map support of its own',
  },
  windowsHide: {
    off: always,
    why: '',
    offNote: 'Windows only; clusterd runs on Linux and other POSIX systems',
  },
  kill_retry_time: {
    off: always,
    why: '',
    offNote: 'clusterd is told when a worker exits; it does not poll',
  },
  username: { off: always, why: '', offNote: 'PM2 fills it in itself' },
  write: { off: never, why: 'an option of PM2 itself, with no counterpart' },
};

function mapUser(m: AppMapping) {
  for (const [option, key] of [
    ['uid', 'user'],
    ['gid', 'group'],
  ] as const) {
    const found = m.take(option);
    if (!found) continue;
    const v = found.value;
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      m.draft[key] = v;
      m.mapped(found, key, 'a root clusterd is needed to switch to it, as for PM2');
    } else m.unsupported(found, `${shownValue(v)} is not a ${key} name or id`);
  }
}

/** Maps uid/user, gid and PM2's own features. */
export function mapOther(m: AppMapping): void {
  mapUser(m);
  for (const [option, feature] of Object.entries(FEATURES) as [Pm2Option, Feature][]) {
    const found = m.take(option);
    if (!found) continue;
    if (feature.off(found.value)) m.mapped(found, '', feature.offNote ?? 'off');
    else if (feature.kind === 'changed') m.changed(found, '', feature.why);
    else m.unsupported(found, feature.why);
  }
}
