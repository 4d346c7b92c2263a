// The recent output `clusterd logs` shows, handed from an app's runner to the one that replaces it.
import { describe, expect, it } from 'vitest';
import { RecentOutput } from '../../src/supervisor/recent-output.js';

const line = (text: string) => Buffer.from(`${text}\n`);

describe('RecentOutput', () => {
  it('passes its lines, its followers and late output to the runner that replaces it', () => {
    const old = new RecentOutput();
    const heard: string[] = [];
    const unsubscribe = old.follow((chunk) => heard.push(chunk.toString().trim()));
    old.add(line('before'));
    const next = new RecentOutput();
    next.add(line('new primary'));
    old.passTo(next);
    // Oldest first, whichever runner printed them.
    expect(next.lines(10)).toEqual(['before', 'new primary']);
    // The old primary's last lines, still in its pipe, land with the app's.
    old.add(line('late'));
    expect(next.lines(10)).toEqual(['before', 'new primary', 'late']);
    expect(old.lines(10)).toEqual(next.lines(10));
    next.add(line('after'));
    expect(heard).toEqual(['before', 'late', 'after']);
    // A follower that leaves is removed from where it is now.
    unsubscribe();
    next.add(line('gone'));
    expect(heard).toEqual(['before', 'late', 'after']);
  });

  it('follows a chain of restarts', () => {
    const outputs = [new RecentOutput(), new RecentOutput(), new RecentOutput()];
    outputs.forEach((o, i) => {
      o.add(line(`run ${i}`));
      if (i > 0) outputs[i - 1]?.passTo(o);
    });
    expect(outputs[0]?.lines(2)).toEqual(['run 1', 'run 2']);
  });

  it('keeps only the last 256 KiB', () => {
    const output = new RecentOutput();
    const kib = 'x'.repeat(1023);
    for (let i = 0; i < 300; i++) output.add(line(`${i} ${kib}`.slice(0, 1023)));
    const lines = output.lines(1_000);
    expect(lines.length).toBeLessThanOrEqual(256);
    expect(lines.at(-1)?.startsWith('299 ')).toBe(true);
  });
});
