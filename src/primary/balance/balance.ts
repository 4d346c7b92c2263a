// Which worker gets a connection, with `balancing: "least-connections"` or `"sticky"`. Pure: the
// primary's handoff (handoff.ts) keeps the members and their counts, and asks here; unit-tested in
// test/primary/balance.test.ts.

/** A worker that takes connections on one listen. */
export interface Member {
  /** node:cluster's worker id: unique, and higher for a later fork. */
  readonly id: number;
  /** Its slot (NODE_APP_INSTANCE); during a reload a slot has two workers. */
  readonly slot: number;
  /** Connections handed to it and not yet closed. */
  readonly open: number;
  /** Connections handed to it that it has not yet said it took: its event loop has not come back since. */
  readonly unanswered: number;
  /** When it was last heard from: a number that grows with every report of any worker. */
  readonly heard: number;
}

/**
 * The member for a new connection: one whose event loop answers (it has said it took every connection
 * handed to it: a worker inside a CPU-bound request has not), with the fewest open connections; among
 * equals, the one heard from last (a worker's closes reach the primary a moment after its client has
 * seen the response: one that just answered is idle, one silent since is likely busy); then the first
 * after `after` (the id of the last one picked), so that idle workers take turns.
 */
export function leastConnections<M extends Member>(members: readonly M[], after: number): M | undefined {
  let best: M | undefined;
  for (const m of members) if (!best || better(m, best, after)) best = m;
  return best;
}

function better(a: Member, b: Member, after: number): boolean {
  const stuckA = a.unanswered > 0;
  const stuckB = b.unanswered > 0;
  if (stuckA !== stuckB) return stuckB;
  if (a.open !== b.open) return a.open < b.open;
  if (a.heard !== b.heard) return a.heard > b.heard;
  return turnBefore(a.id, b.id, after);
}

// In the cyclic order of ids starting just after `after`, does `a` come before `b`?
function turnBefore(a: number, b: number, after: number): boolean {
  const ra = a > after ? a - after : a + 2 ** 31;
  const rb = b > after ? b - after : b + 2 ** 31;
  return ra < rb;
}

/**
 * The member a key sticks to: rendezvous (highest random weight) hashing over the slots present, so
 * that a key keeps its slot whichever worker runs it (a restarted or reloaded worker takes its slot's
 * keys), and adding or removing a slot moves only the keys that go to, or came from, that slot. A slot
 * with two workers (a reload) gives its keys to the newer, the successor.
 */
export function sticky<M extends Member>(members: readonly M[], key: string): M | undefined {
  const keyHash = fnv1a(key);
  let best: M | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = mix(keyHash ^ Math.imul(m.slot + 1, 0x9e3779b1));
    if (score > bestScore || (score === bestScore && best && m.id > best.id)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// murmur3's finalizer: every bit of the input reaches every bit of the score.
function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * With a canary `weight` (least-connections): does the next connection go to the canaries? They are
 * given connections while they are behind their share of those handed out since the weight was set,
 * so that the share holds over any span, whatever their connections' lengths.
 */
export function canaryTurn(toCanaries: number, total: number, weight: number): boolean {
  return toCanaries < weight * (total + 1);
}

/**
 * With a canary `weight` (sticky): does a key go to the canaries? A fixed share of the key space by the
 * key's own hash (not its slot's), so that a client stays on one side for the whole canary phase and
 * about `weight` of the clients are on the canaries' side.
 */
export function canaryKey(key: string, weight: number): boolean {
  return mix(fnv1a(key) ^ 0x5bd1e995) / 2 ** 32 < weight;
}
