// One app's view of node:cluster. node:cluster is one per process: `cluster.workers` holds every worker
// the process forked and `cluster.on('message' | 'exit' | 'disconnect')` hears all of them. A shared
// primary (docs/shared-primaries.md) runs several apps in one process, so each app's context sees
// node:cluster through a view that holds only the workers its own pool forked (registered at the fork:
// `cluster.fork()` returns the Worker synchronously, before any of its events). A primary of its own
// runs one view that owns every worker: the same code path.
//
// The views of a process share one listener per event on node:cluster, which hands each event to the
// view that owns its worker: a worker's message costs one lookup, not one call per app and listener.
import type { Worker } from 'node:cluster';

type Listener = (worker: Worker, ...args: any[]) => void;
type Event = 'message' | 'exit' | 'disconnect' | 'online' | 'listening' | 'fork';

/** What the views need of node:cluster (the real module, or a fake in the tests). */
export interface ClusterSource {
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** What the primary's parts use of node:cluster: its workers and their events. */
export interface ClusterEvents {
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: Event, listener: Listener): unknown;
  off(event: Event, listener: Listener): unknown;
}

/** The views of one process's node:cluster. */
export class ClusterViews {
  private readonly owners = new WeakMap<Worker, ClusterView>();
  private readonly dispatching = new Set<Event>();

  constructor(readonly cluster: ClusterSource) {}

  view(): ClusterView {
    return new ClusterView(this);
  }

  /** @internal */
  own(worker: Worker, view: ClusterView): void {
    this.owners.set(worker, view);
  }

  /** @internal */
  ownerOf(worker: Worker): ClusterView | undefined {
    return this.owners.get(worker);
  }

  /** @internal: the one listener of `event` on node:cluster, added when a view first needs it. */
  dispatch(event: Event): void {
    if (this.dispatching.has(event)) return;
    this.dispatching.add(event);
    this.cluster.on(event, (worker: Worker, ...args: unknown[]) =>
      this.owners.get(worker)?.deliver(event, worker, args),
    );
  }
}

export class ClusterView implements ClusterEvents {
  private readonly listeners = new Map<Event, Listener[]>();

  constructor(private readonly views: ClusterViews) {}

  /** A worker forked for this view's app: registered right after `cluster.fork()` returns it. */
  own(worker: Worker): void {
    this.views.own(worker, this);
  }

  owns(worker: Worker): boolean {
    return this.views.ownerOf(worker) === this;
  }

  /** This app's live workers, by node:cluster id (as `cluster.workers`). */
  get workers(): NodeJS.Dict<Worker> {
    const mine: NodeJS.Dict<Worker> = {};
    for (const [id, worker] of Object.entries(this.views.cluster.workers ?? {}))
      if (worker && this.owns(worker)) mine[id] = worker;
    return mine;
  }

  /** This app's live workers. */
  list(): Worker[] {
    return Object.values(this.workers).filter((w) => w !== undefined);
  }

  /** `listener` hears the event of this app's workers only. */
  on(event: Event, listener: Listener): this {
    const list = this.listeners.get(event) ?? [];
    if (!list.includes(listener)) list.push(listener);
    this.listeners.set(event, list);
    this.views.dispatch(event);
    return this;
  }

  off(event: Event, listener: Listener): this {
    const list = this.listeners.get(event);
    if (list)
      this.listeners.set(
        event,
        list.filter((l) => l !== listener),
      );
    return this;
  }

  /** Hears nothing more (the app's context ended). */
  close(): void {
    this.listeners.clear();
  }

  /** @internal */
  deliver(event: Event, worker: Worker, args: unknown[]): void {
    // A copy: a listener may remove itself (or another) while the event is delivered.
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(worker, ...args);
  }
}
