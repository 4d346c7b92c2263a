// The code of a command's failure over several apps: theirs when they agree, a canary's when every
// failure was a canary rollback of either kind, else COMMAND_FAILED.
import { describe, expect, it } from 'vitest';
import { commonCode, ErrorCode } from '../../src/errors.js';

describe('commonCode', () => {
  it('keeps an agreed code, makes mixed canary rollbacks a canary failure, anything else a failed command', () => {
    expect(commonCode([ErrorCode.RELOAD_FAILED, ErrorCode.RELOAD_FAILED])).toBe(ErrorCode.RELOAD_FAILED);
    expect(commonCode([ErrorCode.CANARY_INCONCLUSIVE])).toBe(ErrorCode.CANARY_INCONCLUSIVE);
    expect(commonCode([ErrorCode.CANARY_FAILED, ErrorCode.CANARY_INCONCLUSIVE])).toBe(
      ErrorCode.CANARY_FAILED,
    );
    expect(commonCode([ErrorCode.CANARY_FAILED, ErrorCode.RELOAD_FAILED])).toBe(ErrorCode.COMMAND_FAILED);
  });
});
