// An app's balancing settings, checked together: what the platform can do, and a sticky header only
// where it means something.
import { ErrorCode } from '../errors.js';
import { REUSE_PORT_PLATFORMS } from './defaults.js';
import type { Report } from './run-as.js';
import type { Balancing } from './types.generated.js';

export function resolveBalancing(
  setting: { balancing: Balancing; stickyHeader: string | null },
  options: {
    platform: NodeJS.Platform;
    origin: (key: 'balancing' | 'stickyHeader') => string;
    report: Report;
  },
): { balancing: Balancing; stickyHeader: string | null } {
  const { balancing, stickyHeader } = setting;
  const { platform, origin, report } = options;
  if (balancing === 'kernel' && !REUSE_PORT_PLATFORMS.includes(platform)) {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      origin('balancing'),
      `"kernel" balancing needs SO_REUSEPORT, which Node.js does not support on ${platform}`,
      'use "round-robin"',
    );
  }
  // A setting that silently does nothing is worse than a refusal: the operator believes connections stick.
  if (stickyHeader !== null && balancing !== 'sticky') {
    report(
      ErrorCode.CONFIG_UNSUPPORTED,
      origin('stickyHeader'),
      `stickyHeader "${stickyHeader}" keys sticky balancing, but this app's balancing is "${balancing}"`,
      'set "balancing": "sticky", or remove stickyHeader',
    );
  }
  // Header names are case-insensitive; the primary compares them in lower case.
  return { balancing, stickyHeader: stickyHeader === null ? null : stickyHeader.toLowerCase() };
}
