// The guards of the messaging API's messages (worker/messages.cts): each passes what clusterd and
// clusterd/worker build, through JSON too, and refuses bad topics, missing or wrong fields and junk. A
// `data` payload is the app's own and any value passes (undefined included: JSON drops the key).
import { describe, expect, it } from 'vitest';
import messages from '../../src/worker/messages.cjs';
import { describeGuards, type GuardRow } from '../helpers/guard-table.js';

const junk = { nested: [1, { a: 'b' }] };
const topics = ['a', 'cache:invalidate', 'jobs/run.1', 'A-9_x', 'x'.repeat(128)];
const badTopics = ['', ' a', 'a b', 'é', '-a', '.a', 'x'.repeat(129), 'a\n', 'a\u0000', 5, null];

const table: GuardRow[] = [
  [
    'isMsgBroadcast',
    messages.isMsgBroadcast,
    [
      ...topics.map((t) => messages.msgBroadcast(t, { n: 1 })),
      messages.msgBroadcast('t', undefined),
      messages.msgBroadcast('t', Buffer.from('hi')),
      { clusterd: 'msg-broadcast', topic: 't' },
    ],
    [
      ...badTopics.map((t): [string, unknown] => [
        `topic ${JSON.stringify(t)}`,
        messages.msgBroadcast(t as string, 1),
      ]),
      ['junk', { clusterd: 'msg-broadcast', topic: 't', data: 1, junk }],
      ['no topic', { clusterd: 'msg-broadcast', data: 1 }],
    ],
  ],
  [
    'isMsgPublish',
    messages.isMsgPublish,
    [messages.msgPublish('deploy:done', { sha: 'abc' })],
    [
      ['bad topic', messages.msgPublish('a b', 1)],
      ['junk', { clusterd: 'msg-publish', topic: 't', junk }],
    ],
  ],
  [
    'isMsgRequest',
    messages.isMsgRequest,
    [
      messages.msgRequest({ id: 1, topic: 't', data: 1, all: false, timeout: 5000 }),
      messages.msgRequest({ id: 2 ** 40, topic: 't', all: true, timeout: 300_000 }),
    ],
    [
      ['id 0', messages.msgRequest({ id: 0, topic: 't', all: false, timeout: 1 })],
      ['id fraction', messages.msgRequest({ id: 1.5, topic: 't', all: false, timeout: 1 })],
      ['all missing', { clusterd: 'msg-request', id: 1, topic: 't', timeout: 1 }],
      ['all a string', { clusterd: 'msg-request', id: 1, topic: 't', all: 'yes', timeout: 1 }],
      ['timeout 0', messages.msgRequest({ id: 1, topic: 't', all: false, timeout: 0 })],
      ['timeout over 5 min', messages.msgRequest({ id: 1, topic: 't', all: false, timeout: 300_001 })],
      ['timeout NaN', messages.msgRequest({ id: 1, topic: 't', all: false, timeout: Number.NaN })],
      ['bad topic', messages.msgRequest({ id: 1, topic: 'a b', all: false, timeout: 1 })],
      ['junk', { ...messages.msgRequest({ id: 1, topic: 't', all: false, timeout: 1 }), junk }],
    ],
  ],
  [
    'isMsgReply',
    messages.isMsgReply,
    [
      messages.msgReply({ ask: 1, outcome: 'answer', data: { x: 1 } }),
      messages.msgReply({ ask: 1, outcome: 'answer' }),
      messages.msgReply({ ask: 1, outcome: 'error', error: 'boom' }),
      messages.msgReply({ ask: 1, outcome: 'no-handler' }),
    ],
    [
      ['ask 0', messages.msgReply({ ask: 0, outcome: 'answer' })],
      ['other outcome', { clusterd: 'msg-reply', ask: 1, outcome: 'maybe' }],
      ['error not a string', { clusterd: 'msg-reply', ask: 1, outcome: 'error', error: { e: 1 } }],
      ['error too long', messages.msgReply({ ask: 1, outcome: 'error', error: 'x'.repeat(1025) })],
      ['junk', { ...messages.msgReply({ ask: 1, outcome: 'answer' }), junk }],
    ],
  ],
  [
    'isMsg',
    messages.isMsg,
    [
      messages.msg({ topic: 't', data: 1, worker: 0, pid: 10 }),
      messages.msg({ topic: 't', data: 1, worker: null, pid: null }),
    ],
    [
      ['worker -1', messages.msg({ topic: 't', worker: -1, pid: 10 })],
      ['pid 0', messages.msg({ topic: 't', worker: 0, pid: 0 })],
      ['no pid', { clusterd: 'msg', topic: 't', worker: 0 }],
      ['junk', { ...messages.msg({ topic: 't', worker: 0, pid: 1 }), junk }],
    ],
  ],
  [
    'isMsgAsk',
    messages.isMsgAsk,
    [messages.msgAsk({ ask: 3, topic: 't', data: [1], worker: 2, pid: 10 })],
    [
      ['worker null', { clusterd: 'msg-ask', ask: 1, topic: 't', worker: null, pid: 1 }],
      ['no ask', { clusterd: 'msg-ask', topic: 't', worker: 0, pid: 1 }],
    ],
  ],
  [
    'isMsgResult',
    messages.isMsgResult,
    [
      messages.msgResult({ id: 1, answers: [], missing: [] }),
      messages.msgResult({
        id: 1,
        answers: [
          { worker: 1, pid: 11, ok: true, data: 5 },
          { worker: 2, pid: 12, ok: false, error: 'boom' },
        ],
        missing: [{ worker: 3, pid: 13, reason: 'exited' }],
      }),
      messages.msgResult({ id: 1, answers: [], missing: [], dropped: 'rate' }),
    ],
    [
      [
        'missing reason unknown',
        messages.msgResult({ id: 1, answers: [], missing: [{ worker: 1, pid: 1, reason: 'x' as 'exited' }] }),
      ],
      ['answer without ok', { clusterd: 'msg-result', id: 1, answers: [{ worker: 1, pid: 1 }], missing: [] }],
      ['dropped other', { clusterd: 'msg-result', id: 1, answers: [], missing: [], dropped: 'x' }],
    ],
  ],
];

describe('messaging guards', () => {
  describeGuards(table);

  it('counts a worker message of the API that fails its guard as malformed, and leaves the good ones', () => {
    expect(messages.isMalformed({ clusterd: 'msg-broadcast', topic: 'a b' })).toBe(true);
    expect(messages.isMalformed({ clusterd: 'msg-request', id: 1, topic: 't', all: false, timeout: 0 })).toBe(
      true,
    );
    // What the primary sends is not the workers' to send.
    expect(messages.isMalformed(messages.msg({ topic: 't', worker: 0, pid: 1 }))).toBe(true);
    for (const m of [
      messages.msgBroadcast('t', 1),
      messages.msgPublish('t', 1),
      messages.msgRequest({ id: 1, topic: 't', all: true, timeout: 10 }),
      messages.msgReply({ ask: 1, outcome: 'no-handler' }),
    ])
      expect(messages.isMalformed(m)).toBe(false);
  });
});
