// What the primary has seen on its workers' channels. Messages from workers are user input (the app's
// code can call process.send() with anything): one that claims to be clusterd's (worker/messages.cts)
// and fails its guard is ignored, and counted here for the app's metrics
// (`clusterd_worker_messages_malformed_total`). One primary runs one app, so the count is the app's,
// for the primary's life.

export class ChannelTally {
  /** Malformed clusterd messages received from the app's workers. */
  malformed = 0;
  /** Messages relayed from one worker to another (socket.io's cluster adapter, primary/relay/). */
  relayed = 0;
  /** Relayed messages that reached nobody: their worker's channel closed, or the requester was gone. */
  relayDropped = 0;
  /** clusterd/worker's messages dropped by the limits (primary/messages/limits.ts), by reason. */
  readonly messagesDropped = { size: 0, rate: 0 };
}

/** This primary's (so this app's) tally. */
export const workerChannel = new ChannelTally();
