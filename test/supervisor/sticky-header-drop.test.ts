// stickyHeader: the primary reads each connection's first request head before it picks a worker. A
// connection whose head is still being read when the app's listen closes (its last worker gone) must
// be closed with the listen, as the connections waiting for a worker are, not kept open in the primary
// for a listen that no longer exists, its client waiting forever.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { fixtureApp, startRoot } from '../helpers/root.js';

describe('stickyHeader, a head read while the listen closes', () => {
  it('closes the connection once its head is read, when its listen has closed meanwhile', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'sticky-echo.mjs', {
          instances: 1,
          balancing: 'sticky',
          stickyHeader: 'X-Forwarded-For',
          env: { PORT: 0 },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const ready = root.events.find((e) => e.app === 'web' && e.to === 'ready');
    const victim = ready?.pid as number;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));

    const socket = net.connect({ host: '127.0.0.1', port });
    const ended = new Promise<string>((resolve) => {
      let received = '';
      socket.setEncoding('utf8').on('data', (d: string) => {
        received += d;
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      socket.on('close', () => resolve(received === '' ? 'closed' : received));
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    // Half a head: the primary holds the connection, reading.
    socket.write('GET / HTTP/1.1\r\nhost: test\r\nx-forwarded-for: 10.0.0.1\r\n');

    // The only worker dies: the listen closes with it; its successor listens anew.
    const from = root.events.length;
    process.kill(victim, 'SIGKILL');
    await root.waitFor((e) => e.app === 'web' && e.to === 'ready' && e.pid !== victim, 'the restart', {
      from,
    });
    socket.write('\r\n');
    // Closed by the primary, not answered and not left open (the head timeout is long past: a hang).
    const hang = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000));
    expect(await Promise.race([ended, hang])).toBe('closed');
    socket.destroy();
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
