// What the control socket accepts of a request's fields, before anything runs: `canary` only on the
// deploy commands, and only true or false.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/control/commands.js';
import { CONTROL_VERSION } from '../../src/control/protocol.js';

const line = (fields: Record<string, unknown>) => JSON.stringify({ v: CONTROL_VERSION, id: 1, ...fields });

describe('control request fields', () => {
  it('takes canary true or false on reload and up', () => {
    expect(parseRequest(line({ cmd: 'reload', canary: true }))).toMatchObject({
      cmd: 'reload',
      canary: true,
    });
    expect(parseRequest(line({ cmd: 'up', canary: false }))).toMatchObject({ cmd: 'up', canary: false });
  });

  it('refuses canary elsewhere, and anything but a boolean', () => {
    expect(parseRequest(line({ cmd: 'restart', canary: true }))).toEqual({
      error: 'restart takes no "canary"',
      id: 1,
    });
    expect(parseRequest(line({ cmd: 'reload', canary: 'yes' }))).toEqual({
      error: '"canary" must be true or false',
      id: 1,
    });
  });
});
