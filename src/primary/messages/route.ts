// Who a message of clusterd/worker's messaging API goes to, decided on the primary's own pool: pure, over
// a list of the app's workers as the primary sees them (node:cluster's, with their slots).
// - A broadcast, and a request (request, requestAll), go to every other worker of the app whose channel
//   is connected: ready or not yet, draining included (its clients may still be served by it; with
//   round-robin balancing node:cluster disconnects a draining worker at once, so it gets nothing more).
//   A worker that joins later gets what is sent after its channel is up; nothing is replayed.
// - A message from outside (`clusterd send`) goes to every connected worker, or those of one slot (during
//   a rolling reload a slot may have two: the old one draining and its successor).

export interface Peer {
  /** node:cluster's id of the worker. */
  id: number;
  /** Its slot (NODE_APP_INSTANCE). */
  slot: number;
  pid: number;
  connected: boolean;
}

/** The workers a broadcast or a request of worker `from` goes to. */
export function siblings(peers: Iterable<Peer>, from: number): Peer[] {
  return [...peers].filter((p) => p.connected && p.id !== from);
}

/** The workers a message from outside goes to: all connected ones, or slot `slot`'s. */
export function outsideTargets(peers: Iterable<Peer>, slot: number | null): Peer[] {
  return [...peers].filter((p) => p.connected && (slot === null || p.slot === slot));
}
