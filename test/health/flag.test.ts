// `start --health [host:]port`, and how it combines with the config's `health`.
import { describe, expect, it } from 'vitest';
import { healthSettings, parseHealthFlag } from '../../src/health/flag.js';

describe('--health', () => {
  it('takes a port, host:port, or [ipv6]:port', () => {
    expect(parseHealthFlag('9100')).toEqual({ port: 9100 });
    expect(parseHealthFlag('0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseHealthFlag('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHealthFlag('localhost:80')).toEqual({ host: 'localhost', port: 80 });
  });

  it.each(['', 'abc', '65536', '::1:9100', 'host:', ':9100', '9100 ', '-1', 'a b:1'])(
    'refuses %j with what it takes',
    (value) => {
      expect(parseHealthFlag(value)).toBe(
        `--health takes [host:]port (9100, 0.0.0.0:9100, [::1]:9100), got "${value}"`,
      );
    },
  );

  it("overrides the config's address and keeps its readyShare", () => {
    const config = { host: '127.0.0.1', port: 9100, readyShare: 1, dashboard: null };
    expect(healthSettings(config, undefined)).toBe(config);
    expect(healthSettings(null, undefined)).toBeNull();
    expect(healthSettings(config, { port: 9200 })).toEqual({
      host: '127.0.0.1',
      port: 9200,
      readyShare: 1,
      dashboard: null,
    });
    expect(healthSettings(null, { host: '::', port: 0 })).toEqual({
      host: '::',
      port: 0,
      readyShare: 0.5,
      dashboard: null,
    });
  });
});
