// The supervisor's own machine (supervisorStep) without processes: what it tells observers, when a
// reload may begin, when `run` ends and with which exit code.
import { describe, expect, it } from 'vitest';
import { terminalStates } from '../../src/lifecycle/machine.js';
import {
  acceptsReload,
  exitCodeOf,
  initialSupervisor,
  SUPERVISOR_TRANSITIONS,
  type SupervisorEffect,
  type SupervisorEvent,
  type SupervisorSnapshot,
  supervisorStep,
} from '../../src/supervisor/supervisor-step.js';

function run(...events: SupervisorEvent[]): { s: SupervisorSnapshot; effects: SupervisorEffect[] } {
  let s = initialSupervisor;
  const effects: SupervisorEffect[] = [];
  for (const event of events) {
    const step = supervisorStep(s, event);
    s = step.snapshot;
    effects.push(...step.effects);
  }
  return { s, effects };
}

describe('supervisorStep', () => {
  it('starts, runs, reloads (overlapping), stops gracefully and ends with 0', () => {
    const { s, effects } = run(
      { type: 'started', failed: [] },
      { type: 'reload asked', kind: 'apps' },
      { type: 'reload asked', kind: 'config' },
      { type: 'reload done', kind: 'apps' },
      { type: 'stop asked', signal: 'SIGTERM' },
      // Refused once a stop began: a reload never races the stop.
      { type: 'reload asked', kind: 'config' },
      { type: 'reload done', kind: 'config' },
      { type: 'apps ended', held: false },
    );
    expect(effects).toEqual([
      { type: 'emit', event: 'ready', failed: [] },
      { type: 'emit', event: 'reloading', kind: 'apps' },
      { type: 'emit', event: 'reloading', kind: 'config' },
      { type: 'emit', event: 'reloaded', kind: 'apps' },
      { type: 'emit', event: 'stopping', kind: 'graceful' },
      { type: 'stop apps' },
      { type: 'emit', event: 'reloaded', kind: 'config' },
      { type: 'finish' },
    ]);
    expect(s).toEqual({ state: 'stopped', stop: { kind: 'graceful', signal: 'SIGTERM' }, reloads: 0 });
    expect(exitCodeOf(s, ['jobs'])).toBe(0);
  });

  it('a second signal kills: told STOPPING once, the exit code is 128+N', () => {
    const { s, effects } = run(
      { type: 'started', failed: [] },
      { type: 'stop asked', signal: 'SIGTERM' },
      { type: 'stop asked', signal: 'SIGINT' },
      { type: 'kill asked', signal: 'SIGINT' },
      { type: 'apps ended', held: false },
    );
    expect(effects.map((e) => (e.type === 'emit' ? `${e.event}` : e.type))).toEqual([
      'ready',
      'stopping',
      'stop apps',
      'kill apps',
      'finish',
    ]);
    expect(exitCodeOf(s, [])).toBe(128 + 2);
    expect(exitCodeOf(run({ type: 'kill asked', signal: null }).s, [])).toBe(1);
  });

  it('no READY once a stop began before every app started', () => {
    const { effects } = run({ type: 'stop asked', signal: null }, { type: 'started', failed: [] });
    expect(effects.some((e) => e.type === 'emit' && e.event === 'ready')).toBe(false);
  });

  it('apps stopped by command keep it up until it is told to stop; apps that all ended on their own end it', () => {
    const held = run({ type: 'started', failed: [] }, { type: 'apps ended', held: true });
    expect(held.s.state).toBe('running');
    expect(held.effects.some((e) => e.type === 'finish')).toBe(false);
    const ended = run({ type: 'started', failed: [] }, { type: 'apps ended', held: false });
    expect(ended.s.state).toBe('stopped');
    expect(exitCodeOf(ended.s, ['web'])).toBe(3);
    expect(exitCodeOf(ended.s, [])).toBe(0);
    // Ended for good: nothing more happens, and no reload begins.
    expect(supervisorStep(ended.s, { type: 'stop asked', signal: null }).effects).toEqual([]);
    expect(acceptsReload(ended.s)).toBe(false);
  });

  it('still says READY when every app ended on its own before the last start was answered', () => {
    const { s, effects } = run({ type: 'apps ended', held: false }, { type: 'started', failed: [] });
    expect(s.state).toBe('stopped');
    expect(effects).toEqual([{ type: 'finish' }, { type: 'emit', event: 'ready', failed: [] }]);
    expect(terminalStates(SUPERVISOR_TRANSITIONS)).toEqual(['stopped']);
  });
});
