// `clusterd monit [app]`: a full-screen live view of a running clusterd, through the programmatic client
// (its `monitor` feed, `logs --follow`, and the commands its keys send). Loaded only for this command.
// When stdout or stdin is not a terminal it prints `status` once instead (a pipe gets a table, not
// escape sequences). The state and its keys are model.ts's, the screen view.ts's: this file wires them
// to the terminal and the root.
import { type Client, connect, type MonitorItem, type Stream } from '../../client/index.js';
import { ClusterdError, errorMessage } from '../../errors.js';
import { unknownApp } from '../../supervisor/app-view.js';
import { formatStatus } from '../commands/control.js';
import type { Io } from '../io.js';
import {
  type Action,
  initialState,
  KEEP_LINES,
  type Key,
  type MonitState,
  onKey,
  withEvent,
  withLines,
  withNotice,
  withSample,
} from './model.js';
import { Screen } from './screen.js';
import { render } from './view.js';

export interface MonitOptions {
  config: string | undefined;
  app: string | undefined;
}

const STOPPED = 'clusterd stopped';

/** Frames a second at most: a flood of output lines is drawn a few times a second, not per line. */
const FRAME_MS = 200;

async function act(client: Client, action: Action): Promise<string> {
  try {
    switch (action.type) {
      case 'reload': {
        const results = await client.reload(action.app);
        return results
          .map((r) => `${r.app}: reloaded, ${r.replaced} worker${r.replaced === 1 ? '' : 's'} replaced`)
          .join('; ');
      }
      case 'restart':
        return `restarted ${(await client.restart(action.app)).join(', ')}`;
      case 'scale': {
        const r = await client.scale(action.app, action.instances as `+${number}`);
        return `${r.app}: ${r.from} -> ${r.to} workers`;
      }
    }
  } catch (error) {
    return `${action.type} ${action.app} failed: ${errorMessage(error)}`;
  }
}

/**
 * The app's (or every app's) output, line by line, until clusterd stops: a follower the root
 * disconnected for falling behind (a flood of output, more than the view can take) follows again, the
 * lines it missed said. Resolves with why it ended.
 */
export async function follow(
  client: Pick<Client, 'logs'>,
  app: string | undefined,
  take: (line: string) => void,
  opened: (stream: Stream<string>) => void,
): Promise<string> {
  let lines = 200;
  for (;;) {
    const stream = client.logs({ ...(app === undefined ? {} : { app }), follow: true, lines });
    opened(stream);
    try {
      for await (const line of stream) take(line);
      return STOPPED;
    } catch (error) {
      const message = errorMessage(error);
      if (!/fell more than \d+ bytes behind/.test(message)) return message;
      take(`(clusterd monit: the output came faster than this view could show it; lines were skipped)`);
      lines = 0;
    }
  }
}

export async function monit(options: MonitOptions, io: Io): Promise<number> {
  const client = await connect(options.config === undefined ? {} : { config: options.config });
  // An unknown app is refused before anything is shown.
  const status = await client.status();
  if (options.app !== undefined && !status.apps.some((a) => a.name === options.app))
    throw unknownApp(
      options.app,
      status.apps.map((a) => a.name),
    );
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    const shown =
      options.app === undefined
        ? status
        : { ...status, apps: status.apps.filter((a) => a.name === options.app) };
    io.stdout(formatStatus(shown));
    return 0;
  }
  const app = options.app === undefined ? {} : { app: options.app };
  const feed: Stream<MonitorItem> = client.monitor({ ...app, history: 300 });
  let logs = null as Stream<string> | null;
  await feed.ready;
  const screen = new Screen(process.stdout, process.stdin);
  const color = !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  let state: MonitState = initialState();
  let timer: NodeJS.Timeout | null = null;
  let ended: (outcome: { code: number; message?: string }) => void = () => {};
  const done = new Promise<{ code: number; message?: string }>((resolve) => {
    ended = resolve;
  });
  // Output lines wait here for the next frame (the last KEEP_LINES of them).
  let waiting: string[] = [];
  const draw = () => {
    timer = null;
    if (waiting.length) {
      state = withLines(state, waiting);
      waiting = [];
    }
    // A fault of the view's own ends it with the terminal given back, never a broken screen.
    try {
      screen.draw(render(state, screen.columns, screen.rows, { color, now: Date.now() }));
    } catch (error) {
      ended({ code: 70, message: `internal error: ${errorMessage(error)}` });
    }
  };
  const soon = () => {
    timer ??= setTimeout(draw, FRAME_MS);
  };
  const now = () => {
    if (timer) clearTimeout(timer);
    draw();
  };
  const key = (k: Key) => {
    // A fault of the view's own ends it with the terminal given back, never a broken screen.
    try {
      pressed(k);
    } catch (error) {
      ended({ code: 70, message: `internal error: ${errorMessage(error)}` });
    }
  };
  const pressed = (k: Key) => {
    const outcome = onKey(state, k);
    state = outcome.state;
    if (outcome.quit) ended({ code: 0 });
    if (outcome.suspend) {
      screen.leave();
      process.kill(process.pid, 'SIGTSTP');
      return;
    }
    if (outcome.action) {
      const action = outcome.action;
      const text = `the ${action.type} of ${action.app}`;
      pending.add(text);
      void act(client, action).then((notice) => {
        pending.delete(text);
        state = withNotice(state, notice);
        now();
      });
    }
    now();
  };
  // Signals end the view the way `q` does: the terminal is given back first (SIGHUP: it is gone).
  const signals: [NodeJS.Signals, () => void][] = (['SIGTERM', 'SIGHUP', 'SIGINT'] as const).map((signal) => [
    signal,
    () => ended({ code: 128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15) }),
  ]);
  for (const [signal, handler] of signals) process.on(signal, handler);
  // Back from a suspension: the screen again.
  const resumed = () => {
    screen.resume();
    now();
  };
  process.on('SIGCONT', resumed);
  // The last resort, whatever ends the process: the terminal is given back.
  const restore = () => screen.leave();
  process.once('exit', restore);
  // Actions sent and not answered yet: they go on in clusterd after the view quits.
  const pending = new Set<string>();
  try {
    screen.enter(key, now);
    now();
    const read = async <T>(stream: Stream<T>, take: (item: T) => void) => {
      try {
        for await (const item of stream) take(item);
        ended({ code: 0, message: 'clusterd stopped' });
      } catch (error) {
        ended({ code: error instanceof ClusterdError ? 1 : 70, message: errorMessage(error) });
      }
    };
    void read(feed, (item) => {
      state = 'sample' in item ? withSample(state, item.sample) : withEvent(state, item.event);
      // A sample redraws at once (the clock, the figures); events come with their sample.
      if ('sample' in item) now();
      else soon();
    });
    void follow(
      client,
      options.app,
      (line) => {
        waiting.push(line);
        if (waiting.length > 2 * KEEP_LINES) waiting = waiting.slice(-KEEP_LINES);
        soon();
      },
      (stream) => {
        logs = stream;
      },
    ).then((message) => ended({ code: message === STOPPED ? 0 : 1, message }));
    const outcome = await done;
    screen.leave();
    if (outcome.message) io.stderr(`clusterd monit: ${outcome.message}\n`);
    if (pending.size) {
      io.stderr(`clusterd monit: ${[...pending].join(', ')} goes on in clusterd (see clusterd events)\n`);
      // Its answer is not waited for: the command's connection would hold the process until it came.
      setImmediate(() => process.exit(outcome.code));
    }
    return outcome.code;
  } finally {
    for (const [signal, handler] of signals) process.off(signal, handler);
    process.off('SIGCONT', resumed);
    process.off('exit', restore);
    if (timer) clearTimeout(timer);
    screen.leave();
    feed.close();
    logs?.close();
    client.close();
  }
}
