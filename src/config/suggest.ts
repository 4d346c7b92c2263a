// "Did you mean": the one closeness rule for everything clusterd names back to a user (config keys and
// values, environments, PM2 options, CLI commands and options). A module of its own, free of the
// schema, so that the CLI can use it without loading the validator.
import { closest, distance } from 'fastest-levenshtein';

/** A "did you mean" candidate: close enough to be a typo, not just any other word. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (!candidates.length) return undefined;
  const best = closest(input, [...candidates]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(input.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}
