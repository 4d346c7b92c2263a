// The worker's side of one leader per app (clusterd/worker's `isLeader`, `onLeadership`); the primary's
// is primary/leader/. An ES module: only clusterd/worker loads it, never the preload. The first `onLeadership` asks the primary for leadership (`leader-want`); a
// `leader-grant` runs every `start` handler; a `leader-revoke` makes `isLeader()` false at once, runs
// every `stop` handler, and answers `leader-stopped` once they have all settled (a rejection is logged,
// and still answered: the handler is over). A `stop` waits for the `start` handlers still running: an
// async `start` revoked half-way would otherwise finish after its `stop` had reported the worker fenced,
// and two workers would run the job. The primary grants nobody else before that answer, or
// before this worker's exit (it is killed if the answer does not come within shutdown.timeout).
//
// Where there is no primary to ask:
// - a process not run by clusterd (`node server.js`, a test) is alone: it leads at once, its `start`
//   handlers run (on the next microtask, as they would on a grant), its `stop` handlers never run;
// - an instance of a `command` program under clusterd (no node:cluster channel) never leads: clusterd
//   runs several of them and could not keep two from leading; it says so once on stderr.
// If the channel closes while this worker leads (its primary is gone), it stops leading: nobody could
// fence it any more.
import cluster from 'node:cluster';
import messages from './messages.cjs';

type Handler = () => unknown;
interface Pair {
  start: Handler;
  stop: Handler;
}

interface LeaderState {
  pairs: Pair[];
  /** The term it leads under (0: alone, without clusterd), or null. */
  term: number | null;
  /** Listening to the primary, and asked it. */
  asked: boolean;
  /** The `start` handlers of the current grant, until they have settled. */
  starting?: Promise<unknown>;
}

// One object per process, whichever copy of clusterd/worker the app loads (state.cts does the same).
const KEY = Symbol.for('clusterd.leader');
const holder = globalThis as unknown as Record<symbol, LeaderState | undefined>;
holder[KEY] ??= { pairs: [], term: null, asked: false };
const state: LeaderState = holder[KEY];

/** How this process can lead: through clusterd's primary, alone, or never. */
function mode(): 'clusterd' | 'alone' | 'never' {
  if (cluster.isWorker && typeof process.send === 'function' && process.env.CLUSTERD_APP !== undefined)
    return 'clusterd';
  return process.env.CLUSTERD_APP === undefined ? 'alone' : 'never';
}

async function run(handler: Handler, what: string): Promise<void> {
  try {
    await handler();
  } catch (error) {
    console.error(`clusterd: an onLeadership ${what} handler failed:`, error);
  }
}

function starts(handler: Handler): void {
  state.starting = Promise.all([state.starting, run(handler, 'start')]);
}

function grant(term: number): void {
  if (state.term !== null) return;
  state.term = term;
  for (const pair of state.pairs) starts(pair.start);
}

async function revoke(): Promise<void> {
  if (state.term === null) return;
  state.term = null;
  await state.starting;
  await Promise.all(state.pairs.map((pair) => run(pair.stop, 'stop')));
}

function listen(): void {
  process.on('message', (message: unknown) => {
    if (messages.isLeaderGrant(message)) grant(message.term);
    else if (messages.isLeaderRevoke(message)) {
      const { term } = message;
      void revoke().then(() => {
        if (process.connected) process.send?.(messages.leaderStopped(term));
      });
    }
  });
  process.once('disconnect', () => void revoke());
}

let warned = false;

const leader = {
  isLeader: (): boolean => state.term !== null,

  onLeadership(start: Handler, stop: Handler): void {
    const pair = { start, stop };
    state.pairs.push(pair);
    // Registered while it leads: this pair starts now, as the others did at the grant.
    if (state.term !== null) {
      starts(start);
      return;
    }
    if (state.asked) return;
    state.asked = true;
    const how = mode();
    if (how === 'alone') queueMicrotask(() => grant(0));
    else if (how === 'clusterd') {
      listen();
      // (A worker already disconnected, by a round-robin drain, has nobody to ask.)
      if (process.connected) process.send?.(messages.leaderWant);
    } else if (!warned) {
      warned = true;
      console.error(
        'clusterd: onLeadership needs a node:cluster worker (an app with `script`); this program instance never leads',
      );
    }
  },
};

export default leader;
