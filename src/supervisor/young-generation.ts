// The root's young generation, kept at its initial size (2 x 1 MiB semi-spaces), as the primaries' is
// with `--max-semi-space-size=1` (supervisor/primary-process.ts).
//
// V8 grows the young generation with the allocation rate, up to 16 MiB per semi-space, and keeps it; the
// pages it frees on the way stay mapped in its page pool. The root allocates steadily (every `status`,
// scrape, `logs` and event makes short-lived objects) and keeps little: in the soak benchmark
// (bench/soak.ts) its RSS went 80 -> 184 MiB over 2,000 reloads, restarts and crashes, 2 M log lines
// and 20,000 commands, still rising, while its live heap stayed at 12-25 MiB (heap snapshots differ by
// kilobytes); most of the difference was V8 pages of 256 KiB, with 32 MiB of young generation committed.
// With this, 114-116 MiB from the 5th of 50 rounds to the last.
//
// The root is the `clusterd start` process itself, already running when it knows it is the root, so it
// cannot be given `--max-semi-space-size`; the growth factor, read by V8 each time it would grow the young
// generation, can still be set: at 1 it never grows. (`node:v8`'s setFlagsFromString after start is
// "undefined behaviour" in general; this flag is only read at that decision, tested in
// test/supervisor/young-generation.test.ts.)
import { setFlagsFromString } from 'node:v8';

export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';

/** Keeps this process's young generation at the size it has now (call it early: it is small then). */
export function capYoungGeneration(set: (flags: string) => void = setFlagsFromString): void {
  set(YOUNG_GENERATION_FLAG);
}
