// One app's view of node:cluster in a shared primary: only the workers its own pool forked, and only
// their events. A fake cluster (an EventEmitter with `workers`) stands for the process-wide module.
import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClusterViews } from '../../src/primary/process/cluster-view.js';

class FakeCluster extends EventEmitter {
  workers: Record<string, Worker> = {};
  private next = 1;
  fork(): Worker {
    const id = this.next++;
    const worker = { id, process: { pid: 1000 + id } } as unknown as Worker;
    this.workers[id] = worker;
    return worker;
  }
  exit(worker: Worker): void {
    delete this.workers[worker.id];
    this.emit('exit', worker, 0, null);
  }
}

describe('ClusterView', () => {
  it('shows each app only the workers it forked, and only their events', () => {
    const cluster = new FakeCluster();
    const views = new ClusterViews(cluster);
    const a = views.view();
    const b = views.view();
    const a1 = cluster.fork();
    a.own(a1);
    const b1 = cluster.fork();
    b.own(b1);
    const a2 = cluster.fork();
    a.own(a2);
    expect(Object.keys(a.workers)).toEqual([String(a1.id), String(a2.id)]);
    expect(b.list()).toEqual([b1]);

    const heard: string[] = [];
    a.on('message', (w, m) => heard.push(`a ${w.id} ${m}`));
    b.on('message', (w, m) => heard.push(`b ${w.id} ${m}`));
    cluster.emit('message', a1, 'x');
    cluster.emit('message', b1, 'y');
    // A worker no view forked (a library's own cluster.fork in the primary) is nobody's.
    cluster.emit('message', { id: 99, process: {} }, 'z');
    expect(heard).toEqual([`a ${a1.id} x`, `b ${b1.id} y`]);

    // An exit is heard by its own app, even though node:cluster has dropped the worker already.
    const exits: number[] = [];
    a.on('exit', (w) => exits.push(w.id));
    b.on('exit', (w) => exits.push(-w.id));
    cluster.exit(a1);
    expect(exits).toEqual([a1.id]);
    expect(a.list()).toEqual([a2]);
  });

  it('shares one listener per event on node:cluster, and stops delivering with off() and close()', () => {
    const cluster = new FakeCluster();
    const views = new ClusterViews(cluster);
    const view = views.view();
    const others = Array.from({ length: 20 }, () => views.view());
    const heard: unknown[] = [];
    const listener = (_w: Worker, m: unknown) => heard.push(m);
    view.on('message', listener);
    view.on('message', listener);
    for (const other of others) other.on('message', () => heard.push('other'));
    // 21 apps: still one listener on node:cluster (no MaxListenersExceededWarning, one lookup per event).
    expect(cluster.listenerCount('message')).toBe(1);
    const worker = cluster.fork();
    view.own(worker);
    cluster.emit('message', worker, 1);
    view.off('message', listener);
    cluster.emit('message', worker, 2);
    expect(heard).toEqual([1]);
    view.on('exit', () => heard.push('exit'));
    view.close();
    cluster.exit(worker);
    expect(heard).toEqual([1]);
  });
});
