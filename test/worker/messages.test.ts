// The worker channel's guards against a table of good and bad messages: each guard passes what clusterd
// sends, and refuses a missing field, a wrong type, NaN, a negative, a huge or fractional number, and
// fields nobody declared (nested junk included). What a worker sends is user input (process.send).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { BUCKETS, type CountsSample, emptyCounts } from '../../src/health/request-stats.js';
import type { CountsSample as WireCountsSample } from '../../src/worker/message-shapes.cjs';
import messages from '../../src/worker/messages.cjs';
import { describeGuards, type GuardRow } from '../helpers/guard-table.js';

const sample = {
  worker: 0,
  pid: 1234,
  elu: 0.25,
  delay: { p50: 1.2, p99: 3.4, max: 20 },
  rss: 50_000_000,
  cpu: { user: 1000, system: 200 },
  app: null,
  requests: { at: 1_765_000_000_000, counts: emptyCounts() },
};
const countsSample: CountsSample = {
  worker: 1,
  pid: 4321,
  at: 1_765_000_000_000,
  rss: 60_000_000,
  counts: { ...emptyCounts(), classes: [0, 120, 3, 7, 2], aborted: 1 },
};
countsSample.counts.latency.counts[12] = 130;
countsSample.counts.latency.sum = 250.5;
countsSample.counts.loopDelay.counts[0] = 4000;
countsSample.counts.loopDelay.sum = 12.25;
/** The counts sample with one of its request counts changed. */
const withCounts = (fields: Record<string, unknown>) =>
  messages.counted(1, { ...countsSample, counts: { ...countsSample.counts, ...fields } as never });
const latencyWith = (fields: Record<string, unknown>) =>
  withCounts({ latency: { ...countsSample.counts.latency, ...fields } });
const promMetric = {
  name: 'http_requests_total',
  help: 'Requests.',
  type: 'counter',
  aggregator: 'sum',
  values: [
    { value: 3, labels: { route: '/', le: 0.5 } },
    { value: 1, metricName: 'x_bucket', exemplar: null },
  ],
};
const listen = {
  clusterd: 'listen',
  seq: 1,
  address: '127.0.0.1',
  port: 0,
  addressType: 4,
  flags: 0,
  backlog: null,
  index: 0,
};

const without = (m: Record<string, unknown>, key: string) =>
  Object.fromEntries(Object.entries(m).filter(([k]) => k !== key));
const junk = { nested: { deeper: [1, { a: 'b' }] } };

/** Per guard: what must pass, and what must not (with why, for the failure message). */
const table: GuardRow[] = [
  [
    'isDrain',
    messages.isDrain,
    [messages.drain],
    [
      ['junk', { clusterd: 'drain', junk }],
      ['other tag', { clusterd: 'beat' }],
    ],
  ],
  ['isBeat', messages.isBeat, [messages.beat], [['junk', { clusterd: 'beat', x: 1 }]]],
  [
    'isMetrics',
    messages.isMetrics,
    [messages.metrics(1), messages.metrics(2 ** 40)],
    [
      ['no seq', { clusterd: 'metrics' }],
      ['seq 0', messages.metrics(0)],
      ['seq NaN', messages.metrics(Number.NaN)],
      ['seq string', { clusterd: 'metrics', seq: '1' }],
      ['seq huge', messages.metrics(2 ** 60)],
    ],
  ],
  [
    'isCounts',
    messages.isCounts,
    [messages.counts(1), messages.counts(2 ** 40)],
    [
      ['no seq', { clusterd: 'counts' }],
      ['seq 0', messages.counts(0)],
      ['seq fraction', messages.counts(1.5)],
      ['junk', { ...messages.counts(1), junk }],
      ['the metrics tag', messages.metrics(1)],
    ],
  ],
  [
    'isCounted',
    messages.isCounted,
    [
      messages.counted(1, countsSample),
      messages.counted(3, { ...countsSample, worker: 0, counts: emptyCounts() }),
      latencyWith({ sum: 0 }),
    ],
    [
      ['no sample', { clusterd: 'counted', seq: 1 }],
      ['seq 0', messages.counted(0, countsSample)],
      ['pid 0', messages.counted(1, { ...countsSample, pid: 0 })],
      ['at fraction', messages.counted(1, { ...countsSample, at: 1.5 })],
      ['at negative', messages.counted(1, { ...countsSample, at: -1 })],
      ['rss NaN', messages.counted(1, { ...countsSample, rss: Number.NaN })],
      ['rss missing', messages.counted(1, without(countsSample as never, 'rss') as never)],
      ['junk in sample', messages.counted(1, { ...countsSample, junk } as never)],
      ['four classes', withCounts({ classes: [1, 2, 3, 4] })],
      ['six classes', withCounts({ classes: [1, 2, 3, 4, 5, 6] })],
      ['a negative class', withCounts({ classes: [0, -1, 0, 0, 0] })],
      ['a fractional class', withCounts({ classes: [0, 1.5, 0, 0, 0] })],
      ['aborted string', withCounts({ aborted: '1' })],
      [
        'aborted missing',
        messages.counted(1, {
          ...countsSample,
          counts: without(countsSample.counts as never, 'aborted') as never,
        }),
      ],
      ['junk in counts', withCounts({ junk })],
      ['a bucket short', latencyWith({ counts: countsSample.counts.latency.counts.slice(1) })],
      ['a bucket more', latencyWith({ counts: [...countsSample.counts.latency.counts, 0] })],
      ['a bucket NaN', latencyWith({ counts: [Number.NaN, ...countsSample.counts.latency.counts.slice(1)] })],
      ['sum negative', latencyWith({ sum: -1 })],
      ['sum Infinity (null through JSON)', latencyWith({ sum: null })],
      ['junk in a histogram', latencyWith({ junk })],
      ['loop delay missing', withCounts({ loopDelay: undefined })],
    ],
  ],
  [
    'isConn',
    messages.isConn,
    [messages.conn(1, 5), messages.conn(1, 5, 'R0VUIC8='), { clusterd: 'conn', id: 1, seq: 5, data: '' }],
    [
      ['no seq', { clusterd: 'conn', id: 1 }],
      ['data number', { clusterd: 'conn', id: 1, seq: 5, data: 5 }],
      ['negative id', messages.conn(-1, 5)],
      ['refused (no longer declared)', { clusterd: 'conn', id: 1, seq: 5, refused: [2] }],
    ],
  ],
  [
    'isListenReply',
    messages.isListenReply,
    [
      messages.listenReply({ seq: 1, id: 2, sockname: { address: '127.0.0.1', family: 'IPv4', port: 8080 } }),
      messages.listenReply({ seq: 1, errno: -98 }),
    ],
    [
      ['neither id nor errno', { clusterd: 'listen-reply', seq: 1 }],
      ['both', { clusterd: 'listen-reply', seq: 1, id: 2, sockname: {}, errno: -98 }],
      ['errno 0', messages.listenReply({ seq: 1, errno: 0 })],
      ['port out of range', { clusterd: 'listen-reply', seq: 1, id: 2, sockname: { port: 70_000 } }],
      ['junk in sockname', { clusterd: 'listen-reply', seq: 1, id: 2, sockname: { junk } }],
    ],
  ],
  [
    'isReady',
    messages.isReady,
    ['ready', messages.ready],
    [
      ['another string', 'readyy'],
      ['junk', { clusterd: 'ready', junk }],
      ['ready: true', { ready: true }],
    ],
  ],
  ['isLoaded', messages.isLoaded, [messages.loaded], [['junk', { clusterd: 'loaded', at: 1 }]]],
  [
    'isListening',
    messages.isListening,
    [messages.listening('127.0.0.1:3000'), messages.listening('/tmp/app.sock')],
    [
      ['no address', { clusterd: 'listening' }],
      ['address number', { clusterd: 'listening', address: 3000 }],
      ['address object', { clusterd: 'listening', address: { port: 3000 } }],
    ],
  ],
  ['isDrained', messages.isDrained, [messages.drained], [['as a string', 'drained']]],
  [
    'isKeepAlive',
    messages.isKeepAlive,
    [messages.keepAlive(0), messages.keepAlive(72_000), messages.keepAlive(2.5)],
    [
      ['null (Infinity through JSON)', { clusterd: 'keep-alive', timeout: null }],
      ['Infinity', messages.keepAlive(Number.POSITIVE_INFINITY)],
      ['NaN', messages.keepAlive(Number.NaN)],
      ['negative', messages.keepAlive(-1)],
      ['string', { clusterd: 'keep-alive', timeout: '5s' }],
    ],
  ],
  [
    'isOpen',
    messages.isOpen,
    [messages.open(0), messages.open(12)],
    [
      ['missing', { clusterd: 'open' }],
      ['negative', messages.open(-1)],
      ['fraction', messages.open(1.5)],
      ['NaN', messages.open(Number.NaN)],
      ['huge', messages.open(1e300)],
    ],
  ],
  ['isAlive', messages.isAlive, [messages.alive], [['junk', { clusterd: 'alive', junk }]]],
  [
    'isSample',
    messages.isSample,
    [
      messages.sample(1, sample),
      messages.sample(1, { ...sample, delay: null }),
      messages.sample(1, { ...sample, app: [promMetric] }),
      messages.sample(1, { ...sample, app: [] }),
    ],
    [
      ['no sample', { clusterd: 'sample', seq: 1 }],
      ['sample missing rss', messages.sample(1, without(sample, 'rss') as typeof sample)],
      ['elu above 1', messages.sample(1, { ...sample, elu: 1.5 })],
      ['elu NaN', messages.sample(1, { ...sample, elu: Number.NaN })],
      ['rss negative', messages.sample(1, { ...sample, rss: -1 })],
      ['rss Infinity', messages.sample(1, { ...sample, rss: Number.POSITIVE_INFINITY })],
      ['pid 0', messages.sample(1, { ...sample, pid: 0 })],
      [
        'worker NaN (null through JSON)',
        messages.sample(1, { ...sample, worker: null as unknown as number }),
      ],
      ['cpu string', messages.sample(1, { ...sample, cpu: { user: '1', system: 0 } as never })],
      ['junk in cpu', messages.sample(1, { ...sample, cpu: { ...sample.cpu, junk } as never })],
      ['delay missing max', messages.sample(1, { ...sample, delay: { p50: 1, p99: 2 } as never })],
      ['junk in sample', messages.sample(1, { ...sample, junk } as never)],
      ['app not an array', messages.sample(1, { ...sample, app: { a: 1 } as never })],
      [
        'app metric without values',
        messages.sample(1, { ...sample, app: [{ name: 'x', help: 'h', type: 'gauge' }] }),
      ],
      ['app value null entry', messages.sample(1, { ...sample, app: [{ ...promMetric, values: [null] }] })],
      [
        'app value a string',
        messages.sample(1, { ...sample, app: [{ ...promMetric, values: [{ value: '1', labels: {} }] }] }),
      ],
      [
        'app label negative',
        messages.sample(1, {
          ...sample,
          app: [{ ...promMetric, values: [{ value: 1, labels: { a: -1 } }] }],
        }),
      ],
      ['app help missing', messages.sample(1, { ...sample, app: [without(promMetric, 'help')] as never })],
      ['requests missing', messages.sample(1, without(sample, 'requests') as typeof sample)],
      [
        'requests with junk',
        messages.sample(1, { ...sample, requests: { ...sample.requests, junk } as never }),
      ],
      [
        'request counts short',
        messages.sample(1, {
          ...sample,
          requests: { ...sample.requests, counts: { ...sample.requests.counts, classes: [1, 2] } as never },
        }),
      ],
      [
        'app labels nested',
        messages.sample(1, { ...sample, app: [{ ...promMetric, values: [{ value: 1, labels: junk }] }] }),
      ],
    ],
  ],
  [
    'isListen',
    messages.isListen,
    [listen, { ...listen, address: null, addressType: 6, backlog: 511, index: 2, port: 65_535 }],
    [
      ['missing index', without(listen, 'index')],
      ['addressType 5', { ...listen, addressType: 5 }],
      ['port too high', { ...listen, port: 65_536 }],
      ['port negative', { ...listen, port: -1 }],
      ['port fraction', { ...listen, port: 80.5 }],
      ['flags NaN', { ...listen, flags: Number.NaN }],
      ['address number', { ...listen, address: 127 }],
      ['junk', { ...listen, junk }],
    ],
  ],
  [
    'isConns',
    messages.isConns,
    [messages.conns(1, 0, 0), messages.conns(3, 17, 4)],
    [
      ['took (the old shape)', { clusterd: 'conns', id: 1, took: 1, closed: 0 }],
      ['upTo NaN', messages.conns(1, Number.NaN, 0)],
      ['upTo string', { clusterd: 'conns', id: 1, upTo: '3', closed: 0 }],
      ['closed negative', messages.conns(1, 3, -1)],
      ['closed huge', messages.conns(1, 3, 2 ** 53)],
      ['id 0', messages.conns(0, 3, 0)],
      ['junk', { ...messages.conns(1, 3, 0), junk }],
    ],
  ],
  [
    'isUnlisten',
    messages.isUnlisten,
    [messages.unlisten(4)],
    [
      ['no id', { clusterd: 'unlisten' }],
      ['id string', { clusterd: 'unlisten', id: '4' }],
    ],
  ],
  [
    'isBounce',
    messages.isBounce,
    [messages.bounce(9)],
    [
      ['no seq', { clusterd: 'bounce', id: 1 }],
      ['seq NaN', messages.bounce(Number.NaN)],
      ['the old shape', { clusterd: 'bounce', id: 1, seq: 9, refused: [1], data: '' }],
    ],
  ],
  ...(['isLeaderGrant', 'isLeaderRevoke', 'isLeaderStopped'] as const).map((name): GuardRow => {
    const tag = {
      isLeaderGrant: 'leader-grant',
      isLeaderRevoke: 'leader-revoke',
      isLeaderStopped: 'leader-stopped',
    }[name];
    return [
      name,
      messages[name],
      [
        { clusterd: tag, term: 1 },
        { clusterd: tag, term: 2 ** 40 },
      ],
      [
        ['no term', { clusterd: tag }],
        ['term 0', { clusterd: tag, term: 0 }],
        ['term NaN', { clusterd: tag, term: Number.NaN }],
        ['term fraction', { clusterd: tag, term: 1.5 }],
        ['term string', { clusterd: tag, term: '1' }],
        ['junk', { clusterd: tag, term: 1, junk }],
      ],
    ];
  }),
  [
    'isLeaderWant',
    messages.isLeaderWant,
    [messages.leaderWant],
    [
      ['junk', { clusterd: 'leader-want', junk }],
      ['a term', { clusterd: 'leader-want', term: 1 }],
    ],
  ],
];

describe('worker channel guards', () => {
  describeGuards(table);

  it('refuses a field named like a property of every object (toString, __proto__)', () => {
    expect(messages.isOpen({ clusterd: 'open', count: 1, toString: 'x' })).toBe(false);
    expect(messages.isOpen(JSON.parse('{"clusterd":"open","count":1,"__proto__":{"x":1}}'))).toBe(false);
    expect(messages.isOpen(JSON.parse('{"clusterd":"open","__proto__":{"count":1}}'))).toBe(false);
  });

  it('builds messages its own guards pass: what clusterd sends is never counted as malformed', () => {
    const sent = [
      messages.ready,
      messages.loaded,
      messages.listening('0.0.0.0:80'),
      messages.drained,
      messages.keepAlive(5000),
      messages.open(3),
      messages.alive,
      messages.sample(7, sample),
      messages.counted(7, countsSample),
      messages.listen({ seq: 1, address: null, port: 80, addressType: 6, flags: 1, backlog: null, index: 0 }),
      messages.conns(1, 2, 3),
      messages.unlisten(1),
      messages.bounce(2),
      messages.leaderWant,
      messages.leaderStopped(3),
    ];
    for (const m of sent)
      expect(messages.isMalformed(JSON.parse(JSON.stringify(m))), JSON.stringify(m)).toBe(false);
  });
});

describe('the counts message', () => {
  it('declares as many buckets as request-stats has, and the same sample type', () => {
    expect(messages.HISTOGRAM_BUCKETS).toBe(BUCKETS);
    expectTypeOf<WireCountsSample>().toEqualTypeOf<CountsSample>();
  });
});

describe('isMalformed', () => {
  it.each([
    ['an undeclared tag', { clusterd: 'nope' }],
    ['a tag of the primary (workers do not send it)', messages.drain],
    ["the primary's leader grant", messages.leaderGrant(1)],
    ["the primary's counts request", messages.counts(1)],
    ['a counted without its sample', { clusterd: 'counted', seq: 1 }],
    ['a leader-stopped without its term', { clusterd: 'leader-stopped' }],
    ['a tag that is not a string', { clusterd: 42 }],
    ['a null tag', { clusterd: null }],
    ['a declared tag with a bad field', { clusterd: 'conns', id: 1, upTo: 1, closed: Number.NaN }],
    ['a declared tag with junk', { clusterd: 'alive', junk }],
  ])('counts %s', (_, message) => {
    expect(messages.isMalformed(message)).toBe(true);
  });

  it.each([
    ["PM2's ready", 'ready'],
    ['any other string', 'hello'],
    ['an object without the tag', { cmd: 'socket.io', data: [1, 2] }],
    ['null', null],
    ['a number', 7],
    ['an array', [{ clusterd: 'nope' }]],
  ])("leaves %s alone (not clusterd's)", (_, message) => {
    expect(messages.isMalformed(message)).toBe(false);
  });

  it('describes a tag for the log without echoing whatever the app sent', () => {
    expect(messages.describe({ clusterd: 'x'.repeat(100) })).toBe(JSON.stringify('x'.repeat(40)));
    expect(messages.describe({ clusterd: { a: 1 } })).toBe('object');
  });
});
