// The client's side of `profile` and `heap`: sends the command, creates the file once the root says
// which worker it is of (its name has the slot and pid), writes each chunk as it comes, and resolves
// with the file and the result. Chunks are written synchronously, so the socket is not read while one
// is being written: a slow disk holds the root, the primary and the worker back, and nothing piles up.
// On any failure the partial file is removed. Never waits forever: the first line within `answerMs`,
// then each line within a bound (a CPU profile's duration more before its first chunk).
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { formatDuration } from '../config/units.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../errors.js';
import { type Bounds, connectionError, exchange, replyError, type Target } from './client.js';
import { createProfileFile } from './profile-file.js';
import { ANSWER_TIMEOUT_MS, type Command, type ProfileDone, type ProfileStart } from './protocol.js';

/** Longest silence between two lines of a profile's stream (a large heap snapshot blocks for seconds). */
export const PROFILE_SILENCE_MS = 120_000;

export interface ProfileFile {
  path: string;
  result: ProfileDone;
}

/**
 * Runs `command` (a `profile` or `heap`) and writes what it streams to the file `place` names for its
 * worker (created as createProfileFile creates it). Rejects with a ClusterdError.
 */
export function downloadProfile(
  target: Target,
  command: Extract<Command, { cmd: 'profile' | 'heap' }>,
  place: (start: ProfileStart) => string,
  bounds: Bounds & { silenceMs?: number; signal?: AbortSignal } = {},
): Promise<ProfileFile> {
  const silenceMs = bounds.silenceMs ?? PROFILE_SILENCE_MS;
  return new Promise((resolve, reject) => {
    let file: { path: string; fd: number; close(): void; remove(): void } | null = null;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: Socket | undefined;
    const settle = (error: ClusterdError | null, result?: ProfileDone) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bounds.signal?.removeEventListener('abort', abort);
      socket?.destroy();
      if (error || !file || !result) {
        file?.remove();
        reject(error ?? new ClusterdError(ErrorCode.INTERNAL, 'the profile ended without its file'));
        return;
      }
      file.close();
      resolve({ path: file.path, result });
    };
    const expect = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(new ClusterdError(ErrorCode.TIMEOUT, what)), ms);
    };
    const answerMs = bounds.answerMs ?? ANSWER_TIMEOUT_MS;
    expect(
      answerMs,
      `clusterd did not answer ${command.cmd} within ${formatDuration(answerMs)} (control socket ${target.socket}): it may be stopped or overloaded`,
    );
    const silent = `the ${command.cmd} stream was silent for ${formatDuration(silenceMs)}: the worker may be stuck; nothing was written`;
    // Interrupted (Ctrl-C in the CLI): the connection closes, which cancels it in the worker.
    const abort = () =>
      settle(new ClusterdError(ErrorCode.PROFILE_FAILED, `${command.cmd} interrupted; nothing was written`));
    if (bounds.signal?.aborted) return abort();
    bounds.signal?.addEventListener('abort', abort, { once: true });
    socket = exchange(target, command, {
      line(reply) {
        if (settled) return;
        const lost = connectionError(reply);
        if (lost) return settle(lost);
        if ('following' in reply) return expect(silenceMs, silent);
        if ('profiling' in reply) {
          const start = reply.profiling;
          try {
            const path = place(start);
            file = { path, ...createProfileFile(path) };
          } catch (error) {
            return settle(
              error instanceof ClusterdError
                ? error
                : new ClusterdError(ErrorCode.OUTPUT_FILE, errorMessage(error)),
            );
          }
          return expect(start.durationMs + silenceMs, silent);
        }
        if ('chunk' in reply) {
          if (!file) return settle(new ClusterdError(ErrorCode.CONTROL, 'a chunk came before its start'));
          try {
            const bytes = Buffer.from(reply.chunk, 'base64');
            for (let at = 0; at < bytes.length; ) at += writeSync(file.fd, bytes, at);
          } catch (error) {
            return settle(
              new ClusterdError(ErrorCode.OUTPUT_FILE, `cannot write ${file.path}: ${errorMessage(error)}`),
            );
          }
          return expect(silenceMs, silent);
        }
        if ('ok' in reply)
          return reply.ok ? settle(null, reply.result as ProfileDone) : settle(replyError(reply.error));
      },
      closed(error) {
        settle(
          error ??
            new ClusterdError(
              ErrorCode.CONTROL,
              `clusterd closed the control connection before the ${command.cmd} was written`,
              ExitCode.FAILURE,
            ),
        );
      },
    });
  });
}
