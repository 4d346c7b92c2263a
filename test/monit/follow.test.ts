// monit's output pane under a flood: when the root cuts the follower off for falling behind, monit
// follows again (without the recent lines it already showed) and says lines were skipped, rather than
// exiting; any other end ends it.
import { describe, expect, it } from 'vitest';
import { follow } from '../../src/cli/monit/monit.js';
import type { LogsOptions, Stream } from '../../src/client/index.js';
import { ClusterdError, ErrorCode } from '../../src/errors.js';

function stream(lines: string[], end: Error | null): Stream<string> {
  const gen = (async function* () {
    yield* lines;
    if (end) throw end;
  })();
  return Object.assign(gen, { ready: Promise.resolve(), close: () => {} });
}

describe('monit output follower', () => {
  it('follows again after falling behind, and ends with clusterd', async () => {
    const asked: LogsOptions[] = [];
    const behind = new ClusterdError(
      ErrorCode.CONTROL,
      'logs --follow fell more than 1048576 bytes behind the output; disconnected',
    );
    const streams = [stream(['a[0] 1', 'a[0] 2'], behind), stream(['a[0] 3'], null)];
    const client = {
      logs: (options: LogsOptions = {}) => {
        asked.push(options);
        return streams.shift() as Stream<string>;
      },
    };
    const got: string[] = [];
    let opened = 0;
    const why = await follow(
      client,
      'a',
      (l) => got.push(l),
      () => opened++,
    );
    expect(why).toBe('clusterd stopped');
    expect(opened).toBe(2);
    expect(got[0]).toBe('a[0] 1');
    expect(got[2]).toMatch(/lines were skipped/);
    expect(got.at(-1)).toBe('a[0] 3');
    expect(asked).toEqual([
      { app: 'a', follow: true, lines: 200 },
      { app: 'a', follow: true, lines: 0 },
    ]);
  });

  it('ends on any other error, with its message', async () => {
    const client = { logs: () => stream([], new ClusterdError(ErrorCode.NOT_RUNNING, 'gone')) };
    expect(
      await follow(
        client,
        undefined,
        () => {},
        () => {},
      ),
    ).toBe('gone');
  });
});
