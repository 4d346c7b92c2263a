// PM2's resource restarts as clusterd's guards: max_memory_restart -> guards.memory.limit, cron_restart
// -> guards.recycle.cron. Both replace a worker the way a rolling reload does, successor first.
import { cronProblem } from '../../config/guards.js';
import type { Guards } from '../../config/types.generated.js';
import type { AppMapping } from './mapping.js';
import { pm2Size, shownValue } from './values.js';

function guards(m: AppMapping): Guards {
  m.draft.guards ??= {};
  return m.draft.guards;
}

function mapMemory(m: AppMapping) {
  const found = m.take('max_memory_restart');
  if (!found) return;
  const limit = pm2Size(found.value);
  if (limit === null)
    return m.unsupported(
      found,
      `${shownValue(found.value)} is not a size PM2 reads (bytes, or a whole number with K, M or G)`,
    );
  guards(m).memory = { limit };
  m.changed(
    found,
    'guards.memory.limit',
    'a worker over it is replaced without dropping a request (its successor starts first), checked every second (guards.memory.interval); PM2 checks every 30s',
  );
}

function mapCron(m: AppMapping) {
  const found = m.take('cron_restart');
  if (!found) return;
  if (found.value === 0 || found.value === '0') return m.mapped(found, '', 'off');
  if (typeof found.value !== 'string' || found.value.trim() === '')
    return m.unsupported(found, `${shownValue(found.value)} is not a cron pattern`);
  const problem = cronProblem(found.value, null);
  if (problem) return m.unsupported(found, `croner does not read ${shownValue(found.value)}: ${problem}`);
  guards(m).recycle = { cron: found.value };
  m.changed(
    found,
    'guards.recycle.cron',
    "at each time, the app's workers are replaced one at a time by rolling reloads; PM2 restarts them all at once",
  );
}

/** Maps max_memory_restart and cron_restart. */
export function mapGuards(m: AppMapping): void {
  mapMemory(m);
  mapCron(m);
}
