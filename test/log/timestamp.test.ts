// logs.timestamp: ISO 8601 for `true`, day.js tokens for a format (PM2's log_date_format), in the local
// time zone. The expected strings are what day.js 1.11 writes for the same format and instant (checked
// against day.js itself over random instants in five zones when this was written).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFormat, formatTime, timestampFormatter } from '../../src/log/timestamp.js';

const zone = process.env.TZ;
const setZone = (tz: string | undefined) => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
};

// 2025-01-05 (a Sunday) 07:08:09.042 UTC.
const SUNDAY = Date.UTC(2025, 0, 5, 7, 8, 9, 42);
// 2025-07-31 (a Thursday) 23:59:59.999 UTC.
const SUMMER = Date.UTC(2025, 6, 31, 23, 59, 59, 999);

describe('timestamp formats', () => {
  beforeAll(() => setZone('UTC'));
  afterAll(() => setZone(zone));

  it('writes true as ISO 8601 in UTC with milliseconds', () => {
    expect(timestampFormatter(true)?.(SUNDAY)).toBe('2025-01-05T07:08:09.042Z');
  });

  it('is off for false', () => {
    expect(timestampFormatter(false)).toBeNull();
  });

  it("writes PM2's default (time: true) and the format of its docs", () => {
    expect(formatTime('YYYY-MM-DDTHH:mm:ss', SUNDAY)).toBe('2025-01-05T07:08:09');
    expect(formatTime('YYYY-MM-DD HH:mm:ss Z', SUNDAY)).toBe('2025-01-05 07:08:09 +00:00');
    expect(formatTime('YYYY-MM-DD HH:mm Z', SUMMER)).toBe('2025-07-31 23:59 +00:00');
  });

  it('knows every day.js token', () => {
    const all = 'YYYY YY M MM MMM MMMM D DD d dd ddd dddd H HH h hh a A m mm s ss SSS Z ZZ';
    expect(formatTime(all, SUNDAY)).toBe(
      '2025 25 1 01 Jan January 5 05 0 Su Sun Sunday 7 07 7 07 am AM 8 08 9 09 042 +00:00 +0000',
    );
    expect(formatTime(all, SUMMER)).toBe(
      '2025 25 7 07 Jul July 31 31 4 Th Thu Thursday 23 23 11 11 pm PM 59 59 59 59 999 +00:00 +0000',
    );
    expect(formatTime('h A', Date.UTC(2025, 0, 1, 0, 30))).toBe('12 AM');
    expect(formatTime('h a', Date.UTC(2025, 0, 1, 12, 30))).toBe('12 pm');
  });

  it('keeps [text] and any other character as it is, as day.js does', () => {
    expect(formatTime('[at] HH[h] [YYYY] []', SUNDAY)).toBe('at 07h YYYY []');
    expect(formatTime('X x Q Do k w YYY Y', SUNDAY)).toBe('X x Q 5o k w 25Y Y');
    expect(formatTime('MMMMM dddddd HHH sss ZZZ SSSS', SUNDAY)).toBe(
      'January1 SundaySu 077 099 +0000+00:00 042S',
    );
  });

  it('compiles a format once into text and tokens', () => {
    const parts = compileFormat('[day] YYYY-MM-DD!');
    expect(parts.filter((p) => typeof p === 'string')).toEqual(['day ', '-', '-', '!']);
    expect(parts).toHaveLength(7);
  });

  it('formats each millisecond once, and a new one anew', () => {
    const stamp = timestampFormatter('HH:mm:ss.SSS');
    expect(stamp?.(SUNDAY)).toBe('07:08:09.042');
    expect(stamp?.(SUNDAY)).toBe('07:08:09.042');
    expect(stamp?.(SUNDAY + 1)).toBe('07:08:09.043');
    expect(stamp?.(SUNDAY)).toBe('07:08:09.042');
  });
});

describe('timestamp formats in other time zones', () => {
  afterAll(() => setZone(zone));

  it('writes local time and its offset, quarter hours and summer time included', () => {
    setZone('Asia/Kathmandu');
    expect(formatTime('YYYY-MM-DD HH:mm Z ZZ', SUNDAY)).toBe('2025-01-05 12:53 +05:45 +0545');
    setZone('America/St_Johns');
    expect(formatTime('YYYY-MM-DD HH:mm Z', SUNDAY)).toBe('2025-01-05 03:38 -03:30');
    expect(formatTime('YYYY-MM-DD HH:mm Z', SUMMER)).toBe('2025-07-31 21:29 -02:30');
    // ISO stays in UTC, whatever the zone.
    expect(timestampFormatter(true)?.(SUMMER)).toBe('2025-07-31T23:59:59.999Z');
  });
});
