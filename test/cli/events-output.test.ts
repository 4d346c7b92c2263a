// What `clusterd events` prints of an event: pure.
import { describe, expect, it } from 'vitest';
import { formatEvent } from '../../src/cli/commands/control.js';

describe('events output', () => {
  it('prints the time, the level past info, the app and worker, and the message', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    expect(
      formatEvent({ level: 30, time, msg: 'worker ready on 127.0.0.1:3000', app: 'web', worker: 1 }),
    ).toBe('03:04:05.067 web[1] worker ready on 127.0.0.1:3000');
    expect(formatEvent({ level: 50, time, msg: 'app errored: boom', app: 'web' })).toBe(
      '03:04:05.067 ERROR web app errored: boom',
    );
    expect(formatEvent({ level: 30, time, msg: 'config reloaded: +jobs' })).toBe(
      '03:04:05.067 config reloaded: +jobs',
    );
  });
});
