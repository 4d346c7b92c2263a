// How many workers, and when one is ready: instances, exec_mode (clusterd runs a Node.js app as a
// node:cluster pool, and a program's instances as processes of their own, as PM2's fork mode does),
// wait_ready and listen_timeout.
import type { Found } from './catalogue.js';
import type { AppMapping } from './mapping.js';
import { pm2Millis, shownValue } from './values.js';

/** clusterd's upper bound on `instances` (the schema's). */
const MAX_INSTANCES = 1024;

/** `instances` as PM2 reads it (lib/Common.js verifyConfs): "max" is 0, other strings parseInt or 0. */
export function pm2Instances(value: unknown): number | null {
  if (value === 'max') return 0;
  if (typeof value === 'string') return Math.trunc(Number.parseInt(value, 10)) || 0;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  return null;
}

const MAX_NOTE =
  '"max": the CPUs this process may use (os.availableParallelism(), capped by a cgroup cpu.max quota), where PM2 counts every CPU of the machine';

function mapInstances(m: AppMapping): number | undefined {
  const found = m.take('instances');
  if (!found) {
    if (m.program) {
      m.mapped('(instances not set)', '', 'PM2 runs one process, as clusterd does for a program by default');
      return undefined;
    }
    m.draft.instances = 1;
    m.mapped('(instances not set)', 'instances', "PM2 runs one process; clusterd's own default would be max");
    return undefined;
  }
  const n = pm2Instances(found.value);
  if (n === null) {
    m.draft.instances = 1;
    m.unsupported(found, `${shownValue(found.value)} is not a number of instances; imported as 1`);
    return undefined;
  }
  if (n > MAX_INSTANCES) {
    m.draft.instances = MAX_INSTANCES;
    m.changed(found, 'instances', `clusterd runs at most ${MAX_INSTANCES} workers per app`);
  } else if (n >= 1) {
    m.draft.instances = n;
    m.mapped(found, 'instances');
  } else if (n === 0) {
    m.draft.instances = 'max';
    const read = typeof found.value === 'string' && found.value !== 'max' ? 'PM2 reads it as 0; ' : '';
    m.changed(found, 'instances', `${read}${MAX_NOTE}`);
  } else {
    m.draft.instances = 'max';
    m.changed(
      found,
      'instances',
      `PM2 runs the CPUs minus ${-n}; clusterd has no "max minus N": "max" runs ${-n} more worker${n === -1 ? '' : 's'} than PM2 would. Set a number to keep CPUs free`,
    );
  }
  return n;
}

function mapExecMode(m: AppMapping, instances: number | undefined): 'cluster' | 'fork' {
  const found = m.take('exec_mode');
  const match = typeof found?.value === 'string' ? /^(cluster|fork)(_mode)?$/.exec(found.value) : null;
  if (found && !match)
    m.unsupported(found, `${shownValue(found.value)} is neither cluster nor fork; taken as PM2's default`);
  // PM2's default (lib/Common.js determineExecMode): cluster when instances is set to >= 1, 0 or -1,
  // for an app that runs on Node.js (or Bun); fork for any other program.
  const implied =
    !m.program && instances !== undefined && (instances >= 0 || instances === -1) ? 'cluster' : 'fork';
  const mode = (match?.[1] as 'cluster' | 'fork' | undefined) ?? implied;
  const option = found && match ? found : `(exec_mode not set: ${mode})`;
  if (m.program) return programMode(m, option, mode);
  if (mode === 'cluster') {
    m.mapped(option, '', 'clusterd runs every app as a node:cluster pool; a worker is ready once it listens');
    return mode;
  }
  const shared =
    'clusterd runs every app as a node:cluster pool, so its workers share the ports they listen on';
  if (m.peek('wait_ready')?.value === true) {
    m.changed(option, '', `${shared}; ready on its message (wait_ready)`);
    return mode;
  }
  m.draft.readiness = 'loaded';
  m.changed(
    option,
    'readiness',
    `${shared}; ready once its script has loaded ("loaded"), as PM2 counts a forked process online when it starts: set readiness "listening" for a server`,
  );
  return mode;
}

// A program's instances are processes of their own, as in PM2's fork mode; ready once they have run
// readySettle (clusterd's default for a program, "loaded"), where PM2 counts one online at its start.
function programMode(m: AppMapping, option: Found | string, mode: 'cluster' | 'fork'): 'cluster' | 'fork' {
  const ready =
    'ready once it has run readySettle (1s) without exiting, where PM2 counts it online when it starts; for a server, add listen and readiness "port", or a probe';
  if (mode === 'cluster')
    m.changed(
      option,
      '',
      `PM2's cluster mode loads the script into Node.js (node:cluster), which cannot run a program; clusterd runs each instance as a process of its own, as PM2's fork mode does; ${ready}`,
    );
  else
    m.mapped(
      option,
      '',
      `each instance is a process of its own, as in PM2's fork mode (instances on one port need SO_REUSEPORT, or listen); ${ready}`,
    );
  return mode;
}

function mapReadiness(m: AppMapping) {
  const wait = m.take('wait_ready');
  if (wait?.value === true && m.program)
    m.changed(
      wait,
      '',
      `a program does not send PM2's 'ready' message (PM2 counted it online after listen_timeout); clusterd counts it ready once it has run readySettle, or by a probe: readiness { "http": url } or { "command": [...] }`,
    );
  else if (wait?.value === true) {
    m.draft.readiness = 'message';
    m.mapped(wait, 'readiness', `"message": the worker calls process.send('ready'), as for PM2`);
  } else if (wait) m.mapped(wait, '', 'off');
  const timeout = m.take('listen_timeout');
  if (!timeout) return;
  const ms = pm2Millis(timeout.value);
  if (ms === null || ms === 0)
    return m.unsupported(timeout, `${shownValue(timeout.value)} is not a time in ms`);
  m.draft.readyTimeout = ms;
  m.changed(
    timeout,
    'readyTimeout',
    'PM2 takes the worker as ready anyway after it; in clusterd a worker not ready in time is a failed start (restarted, and counted toward restart.maxRestarts)',
  );
}

/** Maps instances, exec_mode, wait_ready and listen_timeout. */
export function mapPool(m: AppMapping): void {
  mapExecMode(m, mapInstances(m));
  mapReadiness(m);
}
