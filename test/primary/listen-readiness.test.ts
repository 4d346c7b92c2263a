// Which listen makes a worker ready (balancing: "kernel"): the one on its PORT, or the first.
import { describe, expect, it } from 'vitest';
import { keepAliveWarning } from '../../src/primary/process/keep-alive-warning.js';
import { readinessListen } from '../../src/primary/process/listen-readiness.js';

describe('readinessListen', () => {
  it('takes the first listen when PORT is not set', () => {
    const decides = readinessListen(undefined);
    expect(decides('127.0.0.1:9100')).toBe(true);
    expect(decides('/run/app.sock')).toBe(true);
    expect(readinessListen(' ')('127.0.0.1:9100')).toBe(true);
  });

  it('takes the first listen when PORT is 0 (any free port)', () => {
    expect(readinessListen('0')('127.0.0.1:41234')).toBe(true);
    expect(readinessListen('00')('127.0.0.1:41234')).toBe(true);
  });

  it('takes only the listen on PORT when it is set', () => {
    const decides = readinessListen('3000');
    expect(decides('127.0.0.1:9100')).toBe(false);
    expect(decides('127.0.0.1:30000')).toBe(false);
    expect(decides('127.0.0.1:3000')).toBe(true);
    expect(decides(':::3000')).toBe(true);
    expect(decides('/run/app.sock')).toBe(false);
  });

  it('takes the listen on that path when PORT is a path', () => {
    const decides = readinessListen('/run/app.sock');
    expect(decides('/run/app.sock')).toBe(true);
    expect(decides('127.0.0.1:3000')).toBe(false);
  });
});

describe('keepAliveWarning', () => {
  it('names both timeouts and the grace', () => {
    const w = keepAliveWarning(72_000, 5_000, 1_000);
    expect(w.fields).toEqual({ keepAliveTimeout: 72_000, shutdownTimeout: 5_000 });
    expect(w.message).toMatch(
      /keepAliveTimeout 72000 ms, longer than shutdown.timeout 5000 ms.* 1000 ms after/,
    );
    expect(keepAliveWarning(0, 5_000, 1_000).message).toMatch(/no keepAliveTimeout \(0\)/);
  });
});
