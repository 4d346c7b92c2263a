// The codes a control command answers with: a refusal keeps the code it was thrown with, a fault of the
// root's own code is CLUSTERD_ERR_INTERNAL with a log line (never a generic failed command), and a
// command about several apps gives one code when they agree and each app's own in `apps`.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { replyError } from '../../src/control/client.js';
import { answer } from '../../src/control/commands.js';
import { ClusterdError, ErrorCode } from '../../src/errors.js';
import { LogEvents } from '../../src/log/events.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { resolvedApp } from '../helpers/fake-pool.js';

function logged() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ base: null, level: 'debug' }, out), lines };
}

const request = (cmd: string, more: object = {}) => JSON.stringify({ v: 1, id: 7, cmd, ...more });
const app = (name: string) => ({ app: resolvedApp({ name }) });

// Only what each case calls: a fake supervisor, typed as the real one.
const supervisorWith = (methods: object) =>
  ({ select: () => [app('web'), app('api')], ...methods }) as unknown as Supervisor;

async function reply(line: string, supervisor: Supervisor) {
  const { log, lines } = logged();
  const answered = await answer(line, { supervisor, log, events: new LogEvents() });
  await new Promise((resolve) => setImmediate(resolve));
  if (!('reply' in answered)) throw new Error('expected one reply');
  return { reply: answered.reply, lines };
}

describe('control command codes', () => {
  it('answers a fault of the root as CLUSTERD_ERR_INTERNAL and logs it with its stack', async () => {
    const supervisor = supervisorWith({
      status: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'pid')");
      },
    });
    const { reply: r, lines } = await reply(request('status'), supervisor);
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: ErrorCode.INTERNAL,
        message: expect.stringMatching(/internal error in clusterd: Cannot read/),
      },
    });
    const line = lines.find((l) => l.code === ErrorCode.INTERNAL);
    expect(line).toMatchObject({ level: 50, cmd: 'status', msg: expect.stringMatching(/internal error/) });
    expect((line?.err as { stack?: string })?.stack).toMatch(/TypeError/);
  });

  it('keeps the code of a refusal thrown on purpose, logged at debug only', async () => {
    const supervisor = supervisorWith({
      status: () => {
        throw new ClusterdError(ErrorCode.CONFLICT, 'changed meanwhile');
      },
    });
    const { reply: r, lines } = await reply(request('status'), supervisor);
    expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.CONFLICT, message: 'changed meanwhile' } });
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('gives the apps’ own code when they agree, else COMMAND_FAILED, and each app’s in `apps`', async () => {
    const outcomes = [
      [{ app: 'web', ok: false, code: ErrorCode.RELOAD_FAILED, reason: 'worker 0 did not get ready' }],
      [
        { app: 'web', ok: false, code: ErrorCode.RELOAD_FAILED, reason: 'worker 0 did not get ready' },
        { app: 'api', ok: false, code: ErrorCode.APP_ENDED, reason: 'the app is stopped' },
      ],
    ];
    const [same, mixed] = await Promise.all(
      outcomes.map(
        async (o) => (await reply(request('reload'), supervisorWith({ reloadApps: async () => o }))).reply,
      ),
    );
    expect(same).toMatchObject({ error: { code: ErrorCode.RELOAD_FAILED, apps: [{ app: 'web' }] } });
    expect(mixed).toMatchObject({
      error: {
        code: ErrorCode.COMMAND_FAILED,
        message: 'web: reload failed: worker 0 did not get ready; api: reload failed: the app is stopped',
        apps: [
          { app: 'web', code: ErrorCode.RELOAD_FAILED },
          { app: 'api', code: ErrorCode.APP_ENDED },
        ],
      },
    });
  });

  it('the client keeps every code it knows, and marks one it does not', () => {
    for (const code of Object.values(ErrorCode).filter((c) => !c.startsWith('CLUSTERD_ERR_CONFIG'))) {
      const error = replyError({ code, message: 'm' });
      expect([error.code, error.message]).toEqual([code, 'm']);
    }
    const newer = replyError({ code: 'CLUSTERD_ERR_FROM_THE_FUTURE', message: 'm' });
    expect([newer.code, newer.message]).toEqual([
      ErrorCode.COMMAND_FAILED,
      'm [CLUSTERD_ERR_FROM_THE_FUTURE]',
    ]);
  });
});
