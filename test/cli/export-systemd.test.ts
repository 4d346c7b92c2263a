// `clusterd export systemd` for real: the unit it writes passes `systemd-analyze verify` without a word
// (verify exits 0 on unknown keys and bad values, so any line it prints fails the test; a broken unit
// proves the check can fail), -o refuses to overwrite, and bad input gets the loader's message.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCommand } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { requireTool } from '../helpers/notify-socket.js';
import { FIXTURES } from '../helpers/root.js';

const app = { name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 2 };
/** A program (`command`) clusterd runs with its own socket; `sh` is on the PATH systemd gives services. */
const program = { name: 'edge', command: ['sh', '-c', 'exec sleep 600'], listen: { port: 8000 } };

/** An executable file (a program for `command`) at `dir/name`. */
function executable(dir: string, name: string): string {
  const file = join(writeFiles(dir, { [name]: '#!/bin/sh\nexec sleep 600\n' }), name);
  chmodSync(file, 0o755);
  return file;
}

function project(config: object, dir = tempDir()): string {
  return writeFiles(dir, { 'cluster.config.json': JSON.stringify(config, null, 2) });
}

/** systemd-analyze verify on a unit file; everything it printed. */
async function verify(file: string): Promise<CliResult & { said: string }> {
  requireTool('systemd-analyze');
  const result = await runCommand('systemd-analyze', ['verify', file], {
    env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' },
  });
  return { ...result, said: `${result.stdout}${result.stderr}`.trim() };
}

describe('clusterd export systemd', () => {
  it('writes a unit that systemd-analyze verify accepts without a word, and a broken one it does not', async () => {
    const dir = project({
      apps: [app, { ...app, name: 'api', shutdown: { timeout: '20s' } }],
      environments: undefined,
    });
    const out = join(tempDir(), 'clusterd-shop.service');
    const written = await runCli(['export', 'systemd', dir, '-o', out, '--name', 'clusterd-shop']);
    expect(written.stderr).toBe(`wrote ${out}\n`);
    expect(written.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain(`ExecStart=${process.execPath} `);
    expect(text).toContain('TimeoutStopSec=45\n');
    const checked = await verify(out);
    expect(checked.said).toBe('');
    expect(checked.code).toBe(0);

    // The same check on a unit with a typo and a bad value: verify exits 0, but says so.
    const broken = join(tempDir(), 'broken.service');
    writeFileSync(
      broken,
      text.replace('KillMode=mixed', 'KilMode=mixed').replace('Type=notify', 'Type=notfy'),
    );
    const complaint = await verify(broken);
    expect(complaint.code).toBe(0);
    expect(complaint.said).toMatch(/Unknown key 'KilMode'/);
    expect(complaint.said).toMatch(/notfy/);
  });

  it('with programs in the config: their executables named in comments, and verify still says nothing', async () => {
    const dir = project({
      apps: [
        app,
        program,
        { name: 'py', command: ['./bin/serve', '--fd', '3'], listen: { port: 8001, host: '127.0.0.1' } },
      ],
    });
    executable(join(dir, 'bin'), 'serve');
    const out = join(tempDir(), 'clusterd-progs.service');
    const written = await runCli(['export', 'systemd', dir, '-o', out]);
    expect(written.stderr).toBe(`wrote ${out}\n`);
    expect(written.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    const sh = text.match(
      /^# {3}edge: (\/\S+) \(on the service's PATH\); clusterd listens on port 8000 \(every address\) and hands the socket to each instance$/m,
    );
    expect(sh?.[1]).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(text).toContain(
      `\n#   py: ${dir}/bin/serve (a path in the config); clusterd listens on 127.0.0.1:8001 and hands the socket to each instance\n`,
    );
    // Node.js apps get no line, the programs' arguments are not written, and nothing else changes.
    expect(text).not.toMatch(/# {3}web:|exec sleep|--fd/);
    expect(text).not.toContain('AmbientCapabilities');
    const checked = await verify(out);
    expect(checked.said).toBe('');
    expect(checked.code).toBe(0);
  });

  it('warns about a program that only the PATH of the export has: the service would not find it', async () => {
    const tools = tempDir();
    executable(tools, 'mytool');
    const dir = project({ apps: [{ name: 'tool', command: ['mytool', '--serve'] }] });
    const env = { ...process.env, PATH: `${tools}${delimiter}${process.env.PATH ?? ''}` };
    const printed = await runCli(['export', 'systemd', dir, '--name', 'clusterd-tool'], { env });
    expect(printed.code).toBe(0);
    expect(printed.stderr).toBe(
      `clusterd: warning: app tool: "mytool" was found in ${tools}, which is not on the PATH systemd gives a service (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin): the service would refuse the config (exit 78); set "PATH" in the app's "env", or give the executable's path in "command"\n`,
    );
    expect(printed.stdout).toContain(`#   tool: ${tools}/mytool (found on the PATH of the export, which`);
    // The same program on the app's own PATH: the service looks there too, so no warning.
    const own = project({ apps: [{ name: 'tool', command: ['mytool'], env: { PATH: tools } }] });
    const fine = await runCli(['export', 'systemd', own], { env });
    expect([fine.code, fine.stderr]).toEqual([0, '']);
    expect(fine.stdout).toContain(`#   tool: ${tools}/mytool (on the app's env.PATH)\n`);
    const file = join(tempDir(), 'clusterd-tool.service');
    writeFileSync(file, printed.stdout);
    expect((await verify(file)).said).toBe('');
  });

  it('with --env, a path with spaces and %, on stdout: verify accepts it too', async () => {
    const dir = project(
      { apps: [{ ...app, environments: { production: { NODE_ENV: 'production' } } }] },
      join(writeFiles(tempDir(), { 'my shop 100%/.keep': '' }), 'my shop 100%'),
    );
    const printed = await runCli([
      'export',
      'systemd',
      join(dir, 'cluster.config.json'),
      '--env',
      'production',
    ]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('Environment="CLUSTERD_ENV=production"\n');
    expect(printed.stdout).toMatch(/ --env \$\{CLUSTERD_ENV\}\n/);
    expect(printed.stdout).toContain('my shop 100%%/cluster.config.json"');
    expect(printed.stdout).toContain('SyslogIdentifier=clusterd-my-shop-100\n');
    const file = join(tempDir(), 'clusterd-my-shop-100.service');
    writeFileSync(file, printed.stdout);
    const checked = await verify(file);
    expect(checked.said).toBe('');
  });

  // Naming another user in the config needs a root clusterd (as CI runs), like the other run-as tests.
  it.skipIf(process.getuid?.() !== 0)(
    'apps that all run as www-data, a program on port 80 among them: User=/Group= and the capability, which verify accepts',
    async () => {
      const dir = project({
        defaults: { user: 'www-data' },
        apps: [app, { ...app, name: 'api' }, { ...program, listen: { port: 80 } }],
      });
      const printed = await runCli(['export', 'systemd', dir, '--name', 'clusterd-www']);
      expect(printed.code).toBe(0);
      expect(printed.stdout).toMatch(/^User=www-data\nGroup=www-data$/m);
      // The primary opens port 80 as www-data.
      expect(printed.stdout).toMatch(
        /^# capability \(edge 80\).*\nAmbientCapabilities=CAP_NET_BIND_SERVICE$/m,
      );
      const file = join(tempDir(), 'clusterd-www.service');
      writeFileSync(file, printed.stdout);
      expect((await verify(file)).said).toBe('');
    },
  );

  it('-o refuses to overwrite a file without --force', async () => {
    const dir = project({ apps: [app] });
    const out = join(tempDir(), 'x.service');
    writeFileSync(out, 'mine\n');
    const refused = await runCli(['export', 'systemd', dir, '-o', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`clusterd: ${out} exists; pass --force to overwrite it\n`);
    expect(readFileSync(out, 'utf8')).toBe('mine\n');
    const forced = await runCli(['export', 'systemd', dir, '-o', out, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^Type=notify$/m);
  });

  it('bad input: the loader message and its exit code, never a stack trace', async () => {
    const empty = tempDir();
    const none = await runCli(['export', 'systemd'], { cwd: empty });
    expect(none.code).toBe(66);
    expect(none.stderr).toMatch(/no config file in this directory/);

    const invalid = project({ apps: [{ ...app, instance: 2 }] });
    const bad = await runCli(['export', 'systemd', invalid]);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/instance/);
    expect(bad.stdout).toBe('');

    const target = await runCli(['export', 'nomad', invalid]);
    expect(target.code).toBe(64);
    expect(target.stderr).toMatch(/unknown export target "nomad" \(targets: systemd, kubernetes\)/);
    const bare = await runCli(['export']);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toContain('export needs a target: clusterd export systemd|kubernetes [config]');
    const name = await runCli(['export', 'systemd', project({ apps: [app] }), '--name', 'a b@c']);
    expect(name.code).toBe(64);
    expect(name.stderr).toMatch(/--name must be a unit name/);
    const out = join(tempDir(), 'never.service');
    const failed = await runCli(['export', 'systemd', invalid, '-o', out]);
    expect(failed.code).toBe(78);
    expect(existsSync(out)).toBe(false);
    for (const r of [none, bad, target, bare, name, failed])
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
