// What the root says of an app, from its primary's lifecycle: the state `status` shows, and why a request
// cannot be taken now. Pure: the runner's state in, words out.
import { ClusterdError, ErrorCode, type Failure } from '../errors.js';
import type { AppState, PrimaryState } from '../lifecycle/states.js';

/** A command about an app the config does not have: the message names the apps it has. */
export function unknownApp(name: string, apps: readonly string[]): ClusterdError {
  return new ClusterdError(ErrorCode.UNKNOWN_APP, `no app named "${name}" (apps: ${apps.join(', ')})`);
}

/**
 * The app state the root shows: what its primary reported last, unless the primary's own lifecycle says
 * more (it is restarting, it errored, it has stopped).
 */
export function appStateOf(primary: PrimaryState, reported: AppState): AppState {
  switch (primary) {
    case 'backoff':
      return 'backoff';
    case 'errored':
      return 'errored';
    case 'stopped':
      return reported === 'errored' ? 'errored' : 'stopped';
    case 'stopping':
      return reported === 'stopped' || reported === 'errored' ? reported : 'stopping';
    default:
      return reported;
  }
}

/** Why a request cannot be sent to the primary now, or null when it can (running, or held until hello). */
export function refusalOf(
  primary: PrimaryState,
  reported: AppState,
  reason: string | undefined,
): Failure | null {
  const why = reason ? `: ${reason}` : '';
  switch (primary) {
    case 'spawning':
    case 'running':
      return null;
    case 'backoff':
      return {
        code: ErrorCode.PRIMARY_EXITED,
        reason: `the app's primary is restarting (it exited: ${reason}); try again once the app runs`,
      };
    case 'stopping':
      return { code: ErrorCode.APP_STOPPING, reason: 'the app is stopping' };
    case 'exiting':
      return { code: ErrorCode.APP_ENDED, reason: `the app has ended (${reported}${why})` };
    case 'stopped':
      return { code: ErrorCode.APP_ENDED, reason: 'the app is stopped' };
    case 'errored':
      return { code: ErrorCode.APP_ENDED, reason: `the app is errored${why}` };
  }
}
