// A worker channel guard against its table of good and bad messages (test/worker/messages.test.ts,
// messaging-guards.test.ts): each good one passes, as sent and through JSON (node:cluster's channel); each
// bad one is refused, and so is anything that is not an object with its tag.
import { describe, expect, it } from 'vitest';

export type Guard = (message: unknown) => boolean;
/** A guard's name, the guard, messages it passes, and [why, message] pairs it refuses. */
export type GuardRow = [string, Guard, unknown[], [string, unknown][]];

export function describeGuards(table: GuardRow[]): void {
  describe.each(table)('%s', (_, guard, good, bad) => {
    it.each(good.map((m) => [JSON.stringify(m), m]))('passes %s', (_text, message) => {
      expect(guard(message)).toBe(true);
      // Through node:cluster's channel (JSON) it is the same message.
      expect(guard(JSON.parse(JSON.stringify(message)))).toBe(true);
    });
    it.each(bad)('refuses: %s', (_why, message) => {
      expect(guard(message)).toBe(false);
    });
    it('refuses what is not an object with its tag', () => {
      for (const m of [null, undefined, 0, 'x', [], [good[0]], { clusterd: 'nope' }])
        expect(guard(m)).toBe(false);
    });
  });
}
