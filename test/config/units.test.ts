import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_TIMER_MS, parseDuration, parseSize } from '../../src/config/units.js';

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [250, 250],
    ['500ms', 500],
    ['5s', 5_000],
    ['1.5s', 1_500],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['0.25m', 15_000],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['5', '5 s', '5sec', '-1s', 's', '1d'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });

  it('knows the longest delay a timer honours', () => {
    expect(MAX_TIMER_MS).toBe(2147483647);
  });
});

describe('parseSize', () => {
  it.each([
    [1, 1],
    ['512B', 512],
    ['512KB', 512 * 1024],
    ['10MB', 10 * 1024 ** 2],
    ['10mb', 10 * 1024 ** 2],
    ['1.5GB', 1.5 * 1024 ** 3],
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['10', '10 MB', '10TB', 'MB'])('rejects %j', (input) => {
    expect(() => parseSize(input)).toThrow(RangeError);
  });
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [1_500, '1.5s'],
    [60_000, '1m'],
    [90_000, '1.5m'],
    [7_200_000, '2h'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
