// `primaryGroup` (docs/shared-primaries.md): apps of one group share one primary process. What makes no
// sense there is refused at load, as any other bad setting is (exit code 78):
// - a program (`command`): its primary runs no node:cluster workers and is on no connection path, but it
//   keeps process-wide state of its own (its instances' process groups, killed together on a fault), and
//   sharing that between apps is not supported;
// - two apps of one group on the same `env.PORT`: separate primaries would refuse the second listen
//   (EADDRINUSE), while one node:cluster primary would silently share the port and balance one app's
//   connections over the other's workers.
import { ErrorCode } from '../errors.js';
import type { ResolvedApp } from './resolved.js';
import type { SchemaIssue } from './schema-issues.js';

/** Why an app cannot have the `primaryGroup` it asks for, or null. */
export function groupRefusal(app: string, group: string | null, program: boolean): string | null {
  if (group === null || !program) return null;
  return `app ${app} runs a program (command), which cannot share a primary (primaryGroup ${group}); only Node.js apps (script) can`;
}

/** Apps of one group that ask for the same `env.PORT`: one issue per app after the first. */
export function groupPortClashes(apps: readonly ResolvedApp[]): SchemaIssue[] {
  const seen = new Map<string, string>();
  const issues: SchemaIssue[] = [];
  apps.forEach((app, i) => {
    const port = app.env.PORT;
    if (app.primaryGroup === null || typeof port !== 'string' || port === '') return;
    const key = `${app.primaryGroup}\0${port}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, app.name);
      return;
    }
    issues.push({
      code: ErrorCode.CONFIG_UNSUPPORTED,
      pointer: `/apps/${i}`,
      message: `apps ${first} and ${app.name} share primaryGroup ${app.primaryGroup} and PORT ${port}: one shared primary would balance both apps over one port`,
      hint: 'give each app of a group its own port, or take one out of the group',
    });
  });
  return issues;
}
