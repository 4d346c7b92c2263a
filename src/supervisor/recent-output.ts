// An app's recent output, kept by the root for `clusterd logs`, and its `logs --follow` listeners.
// `clusterd restart <app>` and `clusterd start <app>` replace the app's runner, and with it this object:
// the old one hands its lines and listeners to the new one (`passTo`), so the app's history and its
// followers outlive any restart.

/** Bytes of output kept per app. */
const RECENT_BYTES = 256 * 1024;

type Listener = (chunk: Buffer) => void;

export class RecentOutput {
  /** `logs --follow` listeners: each gets every chunk (whole lines) as it comes. */
  private readonly followers = new Set<Listener>();
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** The app's next runner's, once this one was replaced: what comes late goes there. */
  private next: RecentOutput | null = null;

  add(chunk: Buffer): void {
    // The old primary's last lines may still be in its pipe when the new runner takes over.
    if (this.next) {
      this.current.add(chunk);
      return;
    }
    this.keep([chunk]);
    for (const follower of this.followers) follower(chunk);
  }

  /** The last `count` lines. */
  lines(count: number): string[] {
    if (this.next) return this.current.lines(count);
    const lines = Buffer.concat(this.chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return count > 0 ? lines.slice(-count) : [];
  }

  /** Subscribes a `logs --follow` listener; returns its unsubscribe (wherever the listener is by then). */
  follow(listener: Listener): () => void {
    this.current.followers.add(listener);
    return () => {
      this.current.followers.delete(listener);
    };
  }

  /**
   * Hands the app's output over to `next`, its new runner's: the recent lines go before whatever `next`
   * already has, the followers move, and later output of the old primary goes there too.
   */
  passTo(next: RecentOutput): void {
    const target = next.current;
    if (target === this) return;
    const own = target.chunks;
    target.chunks = [];
    target.bytes = 0;
    target.keep([...this.chunks, ...own]);
    for (const follower of this.followers) target.followers.add(follower);
    this.followers.clear();
    this.chunks = [];
    this.bytes = 0;
    this.next = target;
  }

  /** Where the app's output lives now: this object, or the one it was passed to (and so on). */
  private get current(): RecentOutput {
    let output: RecentOutput = this;
    while (output.next) output = output.next;
    return output;
  }

  private keep(chunks: Buffer[]): void {
    for (const chunk of chunks) {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    }
    while (this.bytes > RECENT_BYTES && this.chunks.length > 1)
      this.bytes -= this.chunks.shift()?.length ?? 0;
  }
}
