// The sticky header's key in a request head: the first value of the first such header, case-insensitive
// names, nothing from what is not an HTTP/1 request or from a line cut short.
import { describe, expect, it } from 'vitest';
import {
  HEAD_TIMEOUT_MS,
  headDecided,
  headerKey,
  MAX_HEAD_BYTES,
} from '../../src/primary/balance/first-request.js';

const head = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

describe('headerKey', () => {
  it('takes the first comma-separated value of the header, whatever its case', () => {
    const h = head('GET /x HTTP/1.1', 'Host: a', 'X-Forwarded-For:  203.0.113.7 , 10.0.0.1');
    expect(headerKey(h, 'x-forwarded-for')).toBe('203.0.113.7');
    expect(headerKey(head('POST / HTTP/1.0', 'x-forwarded-FOR: 198.51.100.2'), 'x-forwarded-for')).toBe(
      '198.51.100.2',
    );
  });

  it('the first line of a repeated header counts; other headers do not', () => {
    const h = head('GET / HTTP/1.1', 'X-Client: one', 'X-Client-Id: no', 'X-Client: two');
    expect(headerKey(h, 'x-client')).toBe('one');
  });

  it('is null without the header, with an empty one, or for what is not an HTTP/1 request', () => {
    expect(headerKey(head('GET / HTTP/1.1', 'Host: a'), 'x-forwarded-for')).toBeNull();
    expect(headerKey(head('GET / HTTP/1.1', 'X-Forwarded-For: '), 'x-forwarded-for')).toBeNull();
    expect(headerKey(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 'x-forwarded-for')).toBeNull();
    expect(headerKey(head('PRI * HTTP/2.0', '', 'SM'), 'x-forwarded-for')).toBeNull();
  });

  it('reads no value from a line the head was cut in', () => {
    const cut = Buffer.from(
      'GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 19',
      'latin1',
    );
    expect(headerKey(cut, 'x-forwarded-for')).toBe('203.0.113.7');
    expect(
      headerKey(Buffer.from('GET / HTTP/1.1\r\nX-Forwarded-For: 203.0', 'latin1'), 'x-forwarded-for'),
    ).toBeNull();
  });
});

describe('headDecided', () => {
  it('waits for the end of a head, decides a TLS record or too long a head at once', () => {
    expect(headDecided(Buffer.alloc(0))).toBe(false);
    expect(headDecided(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'))).toBe(false);
    expect(headDecided(head('GET / HTTP/1.1', 'Host: a'))).toBe(true);
    expect(headDecided(Buffer.from([0x16, 0x03]))).toBe(true);
    expect(headDecided(Buffer.from(`GET /${'a'.repeat(MAX_HEAD_BYTES)}`))).toBe(true);
    expect(HEAD_TIMEOUT_MS).toBeLessThanOrEqual(5_000);
  });
});
