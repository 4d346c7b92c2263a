// What the root says of an app from its primary's lifecycle: the state status shows, and refusals.
import { describe, expect, it } from 'vitest';
import { PRIMARY_STATES } from '../../src/lifecycle/states.js';
import { appStateOf, refusalOf } from '../../src/supervisor/app-view.js';

describe('app view', () => {
  it('shows what the primary reported, unless its own lifecycle says more', () => {
    expect(appStateOf('running', 'running')).toBe('running');
    expect(appStateOf('spawning', 'backoff')).toBe('backoff');
    expect(appStateOf('backoff', 'running')).toBe('backoff');
    expect(appStateOf('errored', 'running')).toBe('errored');
    expect(appStateOf('stopped', 'errored')).toBe('errored');
    expect(appStateOf('stopped', 'running')).toBe('stopped');
    expect(appStateOf('stopping', 'running')).toBe('stopping');
    expect(appStateOf('stopping', 'errored')).toBe('errored');
  });

  it('takes requests only while a primary runs or is on its way, and says why otherwise', () => {
    const taken = PRIMARY_STATES.filter((p) => refusalOf(p, 'running', 'exit code 1') === null);
    expect(taken).toEqual(['spawning', 'running']);
    expect(refusalOf('backoff', 'backoff', 'killed by SIGKILL')).toEqual({
      code: 'CLUSTERD_ERR_PRIMARY_EXITED',
      reason: "the app's primary is restarting (it exited: killed by SIGKILL); try again once the app runs",
    });
    expect(refusalOf('errored', 'errored', 'primary exit code 1')).toEqual({
      code: 'CLUSTERD_ERR_APP_ENDED',
      reason: 'the app is errored: primary exit code 1',
    });
    expect(refusalOf('exiting', 'stopped', undefined)).toEqual({
      code: 'CLUSTERD_ERR_APP_ENDED',
      reason: 'the app has ended (stopped)',
    });
  });
});
