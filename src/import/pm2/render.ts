// The imported config as the text of a config file (JSON, YAML or TS), and the verdicts as the table
// `clusterd import pm2` prints.
import { basename } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterdConfig } from '../../config/types.generated.js';
import type { Verdict, VerdictKind } from './mapping.js';

export type OutputFormat = 'json' | 'yaml' | 'ts';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'yaml', 'ts'];

/** The file name each format is written to by default, beside the ecosystem file. */
export const DEFAULT_FILES: Record<OutputFormat, string> = {
  json: 'cluster.config.json',
  yaml: 'cluster.config.yaml',
  ts: 'cluster.config.ts',
};

/** The format a file name asks for by its extension, if any. */
export function formatOf(file: string): OutputFormat | undefined {
  if (/\.json$/.test(file)) return 'json';
  if (/\.ya?ml$/.test(file)) return 'yaml';
  if (/\.[mc]?ts$/.test(file)) return 'ts';
  return undefined;
}

// A JSON text with the keys that are identifiers unquoted: the object literal a person would write.
const objectLiteral = (value: unknown) =>
  JSON.stringify(value, null, 2).replace(/^(\s*)"([A-Za-z_$][\w$]*)":/gm, '$1$2:');

/** The config file's text. `source` is the ecosystem file it came from, named in a comment. */
export function renderConfig(config: ClusterdConfig, format: OutputFormat, source: string): string {
  const from = `Imported from ${basename(source)} by clusterd import pm2.`;
  if (format === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  if (format === 'yaml') return `# ${from}\n${stringify(config, { lineWidth: 0 })}`;
  const { $schema: _, ...rest } = config;
  return `// ${from}\nimport { defineConfig } from 'clusterd';\n\nexport default defineConfig(${objectLiteral(rest)});\n`;
}

/** How many verdicts of each kind. */
export function countVerdicts(verdicts: readonly Verdict[]): Record<VerdictKind, number> {
  const counts = { mapped: 0, changed: 0, ignored: 0, unsupported: 0 };
  for (const v of verdicts) counts[v.kind] += 1;
  return counts;
}

/** The verdicts as a table: APP, PM2 OPTION, VERDICT, CLUSTERD, NOTE; one line each. */
export function verdictTable(verdicts: readonly Verdict[]): string {
  const rows = [
    ['APP', 'PM2 OPTION', 'VERDICT', 'CLUSTERD', 'NOTE'],
    ...verdicts.map((v) => [v.app ?? '-', v.option, v.kind, v.target || '-', v.note]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.min(40, Math.max(...rows.map((r) => (r[i] ?? '').length))));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
