// One app's view of node:cluster. node:cluster is one per process: `cluster.workers` holds every worker
// the process forked and `cluster.on('message' | 'exit' | 'disconnect')` hears all of them. A shared
// primary (docs/shared-primaries.md) runs several apps in one process, so each app's context sees
// node:cluster through a view that holds only the workers its own pool forked (registered at the fork:
// `cluster.fork()` returns the Worker synchronously, before any of its events). A primary of its own
// runs one view that owns every worker: the same code path.
import type { Worker } from 'node:cluster';

type Listener = (worker: Worker, ...args: any[]) => void;
type Event = 'message' | 'exit' | 'disconnect' | 'online' | 'listening' | 'fork';

/** What a view needs of node:cluster (the real module, or a fake in the tests). */
export interface ClusterSource {
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** What the primary's parts use of node:cluster: its workers and their events. */
export interface ClusterEvents {
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: Event, listener: Listener): unknown;
  off(event: Event, listener: Listener): unknown;
}

export class ClusterView implements ClusterEvents {
  /** The workers this view forked: by object, so an ended worker is forgotten with it. */
  private readonly owned = new WeakSet<Worker>();
  private readonly wrappers = new Map<Listener, Map<Event, Listener>>();

  constructor(private readonly cluster: ClusterSource) {}

  /** A worker forked for this view's app: registered right after `cluster.fork()` returns it. */
  own(worker: Worker): void {
    this.owned.add(worker);
  }

  owns(worker: Worker): boolean {
    return this.owned.has(worker);
  }

  /** This app's live workers, by node:cluster id (as `cluster.workers`). */
  get workers(): NodeJS.Dict<Worker> {
    const mine: NodeJS.Dict<Worker> = {};
    for (const [id, worker] of Object.entries(this.cluster.workers ?? {}))
      if (worker && this.owned.has(worker)) mine[id] = worker;
    return mine;
  }

  /** This app's live workers. */
  list(): Worker[] {
    return Object.values(this.workers).filter((w) => w !== undefined);
  }

  /** `listener` hears the event of this app's workers only. */
  on(event: Event, listener: Listener): this {
    let byEvent = this.wrappers.get(listener);
    if (!byEvent) {
      byEvent = new Map();
      this.wrappers.set(listener, byEvent);
    }
    if (byEvent.has(event)) return this;
    const wrapper: Listener = (worker, ...args) => {
      if (this.owned.has(worker)) listener(worker, ...args);
    };
    byEvent.set(event, wrapper);
    this.cluster.on(event, wrapper);
    return this;
  }

  off(event: Event, listener: Listener): this {
    const byEvent = this.wrappers.get(listener);
    const wrapper = byEvent?.get(event);
    if (!byEvent || !wrapper) return this;
    byEvent.delete(event);
    if (byEvent.size === 0) this.wrappers.delete(listener);
    this.cluster.off(event, wrapper);
    return this;
  }

  /** Stops listening to node:cluster altogether (the app's context ended). */
  close(): void {
    for (const [listener, byEvent] of this.wrappers)
      for (const event of [...byEvent.keys()]) this.off(event, listener);
  }
}
