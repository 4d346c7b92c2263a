// `clusterd export systemd [config]`: the service unit of export/systemd.ts, on stdout or into a file (-o,
// which is not overwritten without --force, nor written through a symbolic link).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/index.js';
import { systemAccounts } from '../../config/run-as.js';
import { ClusterdError, ErrorCode, ExitCode, errorMessage } from '../../errors.js';
import { defaultUnitName, isUnitName, systemdUnit, systemdWarnings } from '../../export/systemd.js';
import type { Io } from '../io.js';
import { writeNew } from './export-kubernetes.js';

export interface ExportSystemdOptions {
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

export async function exportSystemdCommand(options: ExportSystemdOptions, io: Io): Promise<number> {
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
  for (const warning of systemdWarnings(config)) io.stderr(`clusterd: warning: ${warning}\n`);
  if (options.output === undefined) {
    io.stdout(unit);
    return ExitCode.OK;
  }
  const file = resolve(options.output);
  writeNew(file, unit, options.force);
  io.stderr(`wrote ${file}\n`);
  return ExitCode.OK;
}
