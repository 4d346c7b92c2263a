// What the root accepts from a shared primary (protocol.ts, isHostMessage): the fields it acts on at once
// (an output's stream and text, an ending's code) are checked, so a malformed message is ignored rather
// than thrown on inside the root.
import { describe, expect, it } from 'vitest';
import { isHostMessage, isHostRootMessage } from '../../src/protocol.js';

describe('isHostMessage', () => {
  it('takes the shapes a shared primary sends', () => {
    expect(isHostMessage({ type: 'host', version: 8, pid: 10 })).toBe(true);
    expect(isHostMessage({ type: 'from', app: 'a', message: { type: 'bye' } })).toBe(true);
    expect(isHostMessage({ type: 'output', app: 'a', stream: 'stdout', text: 'a[0] x\n' })).toBe(true);
    expect(isHostMessage({ type: 'ended', app: 'a', code: 0, signal: null })).toBe(true);
    expect(isHostMessage({ type: 'ended', app: 'a', code: null, signal: 'SIGKILL' })).toBe(true);
  });

  it('refuses what the root would act on wrongly', () => {
    expect(isHostMessage({ type: 'output', app: 'a', stream: 'stdout' })).toBe(false);
    expect(isHostMessage({ type: 'output', app: 'a', stream: 'stdin', text: 'x\n' })).toBe(false);
    expect(isHostMessage({ type: 'output', app: 'a', stream: 'stderr', text: 42 })).toBe(false);
    expect(isHostMessage({ type: 'ended', app: 'a', code: '1', signal: null })).toBe(false);
    expect(isHostMessage({ type: 'from', message: {} })).toBe(false);
    expect(isHostMessage({ type: 'explode', app: 'a' })).toBe(false);
    expect(isHostMessage(null)).toBe(false);
  });
});

describe('isHostRootMessage', () => {
  it("takes the root's acknowledgements of output, and refuses counts the host could not subtract", () => {
    expect(isHostRootMessage({ type: 'ack', app: 'a', stdout: 3, stderr: 0 })).toBe(true);
    expect(isHostRootMessage({ type: 'ack', app: 'a', stdout: -1, stderr: 0 })).toBe(false);
    expect(isHostRootMessage({ type: 'ack', app: 'a', stdout: 1.5, stderr: 0 })).toBe(false);
    expect(isHostRootMessage({ type: 'ack', app: 'a', stdout: 1 })).toBe(false);
    expect(isHostRootMessage({ type: 'ack', stdout: 1, stderr: 1 })).toBe(false);
    expect(isHostRootMessage({ type: 'close' })).toBe(true);
  });
});
