// `clusterd export systemd [config]`: the service unit for a config, on stdout or into a file.
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/index.js';
import { systemAccounts } from '../../config/run-as.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../../errors.js';
import { defaultUnitName, isUnitName, systemdUnit } from '../../systemd/unit.js';
import type { Io } from '../main.js';

export interface ExportOptions {
  target: string | undefined;
  path: string | undefined;
  environment: string | undefined;
  name: string | undefined;
  output: string | undefined;
  force: boolean;
}

/** clusterd's own entry point, as installed (dist/cli/bin.js). */
const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

const usage = (message: string) =>
  new ClusterdError(ErrorCode.USAGE, `${message}\nRun "clusterd help" for usage.`, ExitCode.USAGE);

export async function exportCommand(options: ExportOptions, io: Io): Promise<number> {
  if (options.target !== 'systemd')
    throw usage(
      options.target === undefined
        ? 'export needs a target: clusterd export systemd [config]'
        : `export knows one target, systemd, not "${options.target}"`,
    );
  if (options.name !== undefined && !isUnitName(options.name))
    throw usage(
      `--name must be a unit name (letters, digits and : _ . - \\, no "@"), got ${JSON.stringify(options.name)}`,
    );
  if (options.force && options.output === undefined) throw usage('--force applies to -o FILE only');
  const config = await loadConfig({
    ...(options.path === undefined ? {} : { path: options.path }),
    environment: options.environment ?? null,
  });
  let unit: string;
  try {
    unit = systemdUnit({
      config,
      name: options.name ?? defaultUnitName(config.file),
      node: process.execPath,
      bin: BIN,
      groupName: (gid) => systemAccounts.group(gid)?.name ?? null,
    });
  } catch (error) {
    throw new ClusterdError(ErrorCode.USAGE, errorMessage(error), ExitCode.FAILURE);
  }
  if (options.output === undefined) {
    io.stdout(unit);
    return ExitCode.OK;
  }
  const file = resolve(options.output);
  let fd: number;
  try {
    // 'wx' refuses an existing file (and a symlink planted there) in the same call that creates it.
    fd = openSync(file, options.force ? 'w' : 'wx', 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ClusterdError(
      ErrorCode.USAGE,
      code === 'EEXIST'
        ? `${file} exists; pass --force to overwrite it`
        : `cannot write ${file}: ${errorMessage(error)}`,
      ExitCode.FAILURE,
    );
  }
  try {
    writeSync(fd, unit);
  } finally {
    closeSync(fd);
  }
  io.stderr(`wrote ${file}\n`);
  return ExitCode.OK;
}
