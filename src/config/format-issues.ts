// How config problems are shown to people: by the CLI, and in the log when a config reload fails.
import type { ConfigIssue } from '../errors.js';
import { clip, displayPath } from './display.js';

/** Problems printed in full; the rest are counted. A config of 100,000 bad apps prints a screenful. */
export const MAX_PRINTED_ISSUES = 20;

/** One problem on one line, compiler style: `file:line:col pointer (app "x"): message; hint [CODE]`. */
export function formatIssue(issue: ConfigIssue): string {
  const position = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`;
  const where = [`${clip(displayPath(issue.file))}${position}`];
  if (issue.pointer) where.push(clip(issue.pointer));
  if (issue.app) where.push(`(app "${clip(issue.app, 64)}")`);
  const hint = issue.hint ? `; ${clip(issue.hint, 300)}` : '';
  // One line per problem, whatever a message quotes.
  return `${where.join(' ')}: ${clip(issue.message, 500)}${hint} [${issue.code}]`.replace(/[\r\n]+/g, ' ');
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const first = issues[0];
  if (!first) return '';
  if (issues.length === 1) return `clusterd: ${formatIssue(first)}\n`;
  const head = `clusterd: ${clip(displayPath(first.file))} has ${issues.length} problems:`;
  const lines = issues.slice(0, MAX_PRINTED_ISSUES).map((i) => `  ${formatIssue(i)}`);
  const more = issues.length - MAX_PRINTED_ISSUES;
  if (more > 0) lines.push(`  ... and ${more} more`);
  return `${[head, ...lines].join('\n')}\n`;
}
