// Whether `clusterd init` may write its file, given the configs already in the directory. Any config
// the search would find counts, not only a file of the same name: a new cluster.config.yaml beside a
// cluster.config.json would never be read, since the search finds the JSON first. Pure.
import { SEARCH_PLACES } from '../config/search-places.js';

export type Placement =
  | {
      ok: true;
      /** Configs left in place that the new file now comes before: nothing reads them any more. */
      shadowed: string[];
    }
  | { ok: false; reason: string };

const rank = (place: string) => {
  const index = SEARCH_PLACES.indexOf(place);
  return index < 0 ? SEARCH_PLACES.length : index;
};

const shown = (place: string) => (place === 'package.json' ? 'package.json (its "clusterd" key)' : place);

/**
 * May `target` be written, with `existing` (the directory's configs, names as in SEARCH_PLACES, in
 * search order) already there? `--force` overwrites `target` itself, never another file.
 */
export function placement(existing: readonly string[], target: string, force: boolean): Placement {
  const first = existing[0];
  if (first === undefined) return { ok: true, shadowed: [] };
  const before = existing.find((place) => place !== target && rank(place) < rank(target));
  if (before !== undefined)
    return {
      ok: false,
      reason: `${shown(before)} is already this directory's clusterd config, and would still be used instead of a new ${target}: remove it first${force ? ' (--force overwrites only the file init writes)' : ''}`,
    };
  if (!force)
    return {
      ok: false,
      reason:
        first === target
          ? `${target} exists; pass --force to overwrite it`
          : `${shown(first)} is already this directory's clusterd config; pass --force to write ${target} anyway (it would be used instead)`,
    };
  return { ok: true, shadowed: existing.filter((place) => place !== target) };
}
