// The bookkeeping of request/requestAll in the primary (primary/messages/request-book.ts), with fake
// workers and fake time: each request ends exactly once, with the first answer (request) or every
// answer and who is missing (requestAll), at once when a sibling asked exits, never after its timeout.
import { describe, expect, it } from 'vitest';
import { RequestBook } from '../../src/primary/messages/request-book.js';
import type { Peer } from '../../src/primary/messages/route.js';
import type { MsgResult } from '../../src/protocol.js';
import { fakeTime } from '../helpers/fake-time.js';

const peer = (id: number): Peer => ({ id, slot: id - 1, pid: 100 + id, connected: true });
const [a, b, c] = [peer(2), peer(3), peer(4)];

function book() {
  const time = fakeTime();
  const results: [number, MsgResult][] = [];
  const requests = new RequestBook(time.fx.timer, (to, result) => results.push([to, result]));
  return { time, results, requests };
}

describe('request (the first answer)', () => {
  it('ends with the first handler to answer; later answers are ignored', () => {
    const { results, requests, time } = book();
    const ask = requests.open(1, 7, false, [a, b, c], 5000) as number;
    requests.reply(a.id, { ask, outcome: 'no-handler' });
    expect(results).toEqual([]);
    requests.reply(b.id, { ask, outcome: 'answer', data: 'b' });
    requests.reply(c.id, { ask, outcome: 'answer', data: 'c' });
    expect(results).toEqual([
      [
        1,
        {
          clusterd: 'msg-result',
          id: 7,
          answers: [{ worker: 2, pid: 103, ok: true, data: 'b' }],
          missing: [],
        },
      ],
    ]);
    expect(requests.size).toBe(0);
    expect(time.pending()).toBe(0);
  });

  it('counts a thrown handler as the first answer', () => {
    const { results, requests } = book();
    const ask = requests.open(1, 1, false, [a, b], 5000) as number;
    requests.reply(a.id, { ask, outcome: 'error', error: 'boom' });
    expect(results[0]?.[1].answers).toEqual([{ worker: 1, pid: 102, ok: false, error: 'boom' }]);
  });

  it('ends with who was missing when none has a handler', () => {
    const { results, requests } = book();
    const ask = requests.open(1, 1, false, [a, b], 5000) as number;
    requests.reply(a.id, { ask, outcome: 'no-handler' });
    requests.reply(b.id, { ask, outcome: 'no-handler' });
    expect(results[0]?.[1]).toMatchObject({
      answers: [],
      missing: [{ reason: 'no-handler' }, { reason: 'no-handler' }],
    });
  });

  it('ends at once when nobody is there to ask', () => {
    const { results, requests, time } = book();
    expect(requests.open(1, 3, false, [], 5000)).toBeNull();
    expect(results).toEqual([[1, { clusterd: 'msg-result', id: 3, answers: [], missing: [] }]]);
    expect(time.pending()).toBe(0);
  });

  it('fails at once, not at the timeout, when the only sibling asked dies', () => {
    const { results, requests, time } = book();
    requests.open(1, 1, false, [a], 60_000);
    time.advance(10);
    requests.gone(a.id);
    expect(results[0]?.[1]).toMatchObject({
      answers: [],
      missing: [{ worker: 1, pid: 102, reason: 'exited' }],
    });
    expect(time.pending()).toBe(0);
  });
});

describe('requestAll (every answer)', () => {
  it('waits for each sibling, and lists the missing with why', () => {
    const { results, requests } = book();
    const ask = requests.open(1, 9, true, [a, b, c], 5000) as number;
    requests.reply(a.id, { ask, outcome: 'answer', data: 1 });
    requests.gone(b.id);
    expect(results).toEqual([]);
    requests.reply(c.id, { ask, outcome: 'no-handler' });
    expect(results[0]?.[1]).toEqual({
      clusterd: 'msg-result',
      id: 9,
      answers: [{ worker: 1, pid: 102, ok: true, data: 1 }],
      missing: [
        { worker: 2, pid: 103, reason: 'exited' },
        { worker: 3, pid: 104, reason: 'no-handler' },
      ],
    });
  });

  it('ends at the timeout with a partial result, and never again', () => {
    const { results, requests, time } = book();
    const ask = requests.open(1, 9, true, [a, b], 1000) as number;
    requests.reply(a.id, { ask, outcome: 'answer' });
    time.advance(999);
    expect(results).toEqual([]);
    time.advance(1);
    expect(results[0]?.[1]).toEqual({
      clusterd: 'msg-result',
      id: 9,
      answers: [{ worker: 1, pid: 102, ok: true }],
      missing: [{ worker: 2, pid: 103, reason: 'timeout' }],
    });
    requests.reply(b.id, { ask, outcome: 'answer' });
    requests.gone(b.id);
    time.advance(10_000);
    expect(results).toHaveLength(1);
  });

  it('ignores an answer from a worker it did not ask, or twice from one', () => {
    const { results, requests } = book();
    const ask = requests.open(1, 9, true, [a, b], 1000) as number;
    requests.reply(c.id, { ask, outcome: 'answer' });
    requests.reply(a.id, { ask, outcome: 'answer', data: 1 });
    requests.reply(a.id, { ask, outcome: 'answer', data: 2 });
    requests.reply(a.id, { ask: ask + 1, outcome: 'answer' });
    expect(results).toEqual([]);
    requests.reply(b.id, { ask, outcome: 'answer', data: 3 });
    expect(results[0]?.[1].answers.map((x) => x.data)).toEqual([1, 3]);
  });

  it('forgets the requests of a requester that exits', () => {
    const { results, requests, time } = book();
    const ask = requests.open(a.id, 1, true, [b, c], 1000) as number;
    requests.gone(a.id);
    requests.reply(b.id, { ask, outcome: 'answer' });
    time.advance(2000);
    expect(results).toEqual([]);
    expect(requests.size).toBe(0);
  });

  it('keeps two requests apart, one sibling dying in both', () => {
    const { results, requests } = book();
    const one = requests.open(a.id, 1, true, [b, c], 1000) as number;
    const two = requests.open(b.id, 1, false, [a, c], 1000) as number;
    expect(one).not.toBe(two);
    requests.gone(c.id);
    expect(results).toEqual([]);
    requests.reply(b.id, { ask: one, outcome: 'answer' });
    requests.reply(a.id, { ask: two, outcome: 'answer' });
    expect(results.map(([to, r]) => [to, r.answers.length, r.missing.map((m) => m.reason)])).toEqual([
      [a.id, 1, ['exited']],
      [b.id, 1, []],
    ]);
  });
});
