// An app's recent output, kept by the root for `clusterd logs`, and its `logs --follow` listeners.

/** Bytes of output kept per app. */
const RECENT_BYTES = 256 * 1024;

export class RecentOutput {
  /** `logs --follow` listeners: each gets every chunk (whole lines) as it comes. */
  readonly followers = new Set<(chunk: Buffer) => void>();
  private chunks: Buffer[] = [];
  private bytes = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > RECENT_BYTES && this.chunks.length > 1)
      this.bytes -= this.chunks.shift()?.length ?? 0;
    for (const follower of this.followers) follower(chunk);
  }

  /** The last `count` lines. */
  lines(count: number): string[] {
    const lines = Buffer.concat(this.chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return count > 0 ? lines.slice(-count) : [];
  }
}
