import { cgroupMemoryMax } from '../../config/cpus.js';
import { guardWarnings } from '../../config/guards.js';
import { loadConfig } from '../../config/index.js';
import { ConfigError } from '../../errors.js';
import { configSummary, formatConfig } from '../format.js';
import type { Io } from '../io.js';
import { escapeText } from '../terminal-text.js';

/** Issues `validate --json` lists; `omitted` counts the rest. */
export const MAX_JSON_ISSUES = 1000;

export interface ValidateOptions {
  path: string | undefined;
  environment: string | undefined;
  json: boolean;
}

/** `clusterd validate`: the resolved config, or every problem in it. */
export async function validateCommand(options: ValidateOptions, io: Io): Promise<number> {
  try {
    const config = await loadConfig({
      ...(options.path === undefined ? {} : { path: options.path }),
      environment: options.environment ?? null,
    });
    const warnings = guardWarnings(config.apps, { memoryMax: cgroupMemoryMax(), platform: process.platform });
    // Paths in the summary are the config's (a cloned repository's): shown, not obeyed, by a terminal.
    io.stdout(
      options.json
        ? `${JSON.stringify({ ...configSummary(config), warnings }, null, 2)}\n`
        : escapeText(formatConfig(config, warnings)),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError) || !options.json) throw error;
    // Bounded like the human output, but generous: tools may place each issue in an editor.
    const errors = error.issues.slice(0, MAX_JSON_ISSUES);
    const omitted = error.issues.length - errors.length;
    io.stdout(`${JSON.stringify({ valid: false, errors, ...(omitted ? { omitted } : {}) }, null, 2)}\n`);
    return error.exitCode;
  }
}
