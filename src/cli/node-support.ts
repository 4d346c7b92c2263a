// Kept free of imports: bin.ts runs it before anything that an old Node.js could fail to load.

/** Oldest supported Node.js; package.json `engines` says the same (checked by a test). */
export const MIN_NODE = { major: 22, minor: 12 } as const;

/** Why this Node.js version cannot run clusterd, or null when it can. */
export function unsupportedNode(version: string): string | null {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor)) return null;
  return `Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or newer is required, this is ${version.startsWith('v') ? version : `v${version}`}; install a current LTS release (https://nodejs.org)`;
}
