// Waiting for something a test's process says (a log event, a datagram) as it arrives, never by polling:
// whoever receives calls notify(), and each waiter checks again.
export class Waiters {
  private readonly waiting = new Set<() => void>();

  notify(): void {
    for (const waiter of this.waiting) waiter();
  }

  /**
   * Resolves with the first value `find` returns that is not undefined, checked now and at each
   * notify(); rejects with `ended()`'s reason once that says the source is gone, or with `late()`'s
   * message after `timeoutMs`.
   */
  until<T>(
    find: () => T | undefined,
    ended: () => string | null,
    late: () => string,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) return done(() => resolve(found));
        const why = ended();
        if (why !== null) done(() => reject(new Error(why)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(late()))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiting.delete(check);
        settle();
      };
      this.waiting.add(check);
      check();
    });
  }
}
