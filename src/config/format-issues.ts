// How config problems are shown to people: by the CLI, and in the log when a config reload fails.
import type { ConfigIssue } from '../errors.js';
import { displayPath } from './display.js';

/** One problem on one line, compiler style: `file:line:col pointer (app "x"): message; hint [CODE]`. */
export function formatIssue(issue: ConfigIssue): string {
  const position = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`;
  const where = [`${displayPath(issue.file)}${position}`];
  if (issue.pointer) where.push(issue.pointer);
  if (issue.app) where.push(`(app "${issue.app}")`);
  const hint = issue.hint ? `; ${issue.hint}` : '';
  return `${where.join(' ')}: ${issue.message}${hint} [${issue.code}]`;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const first = issues[0];
  if (!first) return '';
  if (issues.length === 1) return `clusterd: ${formatIssue(first)}\n`;
  const head = `clusterd: ${displayPath(first.file)} has ${issues.length} problems:`;
  return `${[head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n')}\n`;
}
