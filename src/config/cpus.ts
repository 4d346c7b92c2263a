import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

export interface CgroupPaths {
  /** Mount point of the cgroup v2 hierarchy. */
  root: string;
  /** The file that names this process's cgroup. */
  self: string;
}

const SYSTEM: CgroupPaths = { root: '/sys/fs/cgroup', self: '/proc/self/cgroup' };

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

// The tightest of a cgroup v2 limit file over this process's cgroup and its ancestors, or null when none
// is set or cgroup v2 is not in use.
function cgroupLimit(
  file: string,
  parse: (text: string) => number | null,
  paths: CgroupPaths,
): number | null {
  const self = readText(paths.self);
  const line = self?.split('\n').find((l) => l.startsWith('0::'));
  if (!line) return null;
  let dir = line.slice(3).trim() || '/';
  let limit: number | null = null;
  for (;;) {
    const text = readText(join(paths.root, dir, file));
    const value = text === null ? null : parse(text.trim());
    if (value !== null) limit = limit === null ? value : Math.min(limit, value);
    if (dir === '/') return limit;
    dir = dirname(dir);
  }
}

/** CPUs granted by the cgroup v2 `cpu.max` quotas (the tightest one wins), or null when none is set. */
export function cgroupCpuQuota(paths: CgroupPaths = SYSTEM): number | null {
  return cgroupLimit(
    'cpu.max',
    (text) => {
      const [quota, period] = text.split(/\s+/);
      if (quota === 'max') return null;
      const cpus = Number(quota) / Number(period ?? 100_000);
      return Number.isFinite(cpus) && cpus > 0 ? cpus : null;
    },
    paths,
  );
}

/** cgroup v1's "no limit": the largest page-aligned signed 64-bit value, or near it. */
const V1_UNLIMITED = 2 ** 62;

/**
 * Bytes granted by the cgroup v2 `memory.max` limits (the tightest one wins), or where there is none,
 * by cgroup v1's `memory.limit_in_bytes` (the memory controller mounted at `<root>/memory`); null when
 * none is set.
 */
export function cgroupMemoryMax(paths: CgroupPaths = SYSTEM): number | null {
  const bytes = (text: string) => (/^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null);
  const v2 = cgroupLimit('memory.max', bytes, paths);
  if (v2 !== null) return v2;
  const self = readText(paths.self);
  const line = self?.split('\n').find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (!line) return null;
  let dir = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim() || '/';
  let limit: number | null = null;
  for (;;) {
    const value = bytes(readText(join(paths.root, 'memory', dir, 'memory.limit_in_bytes'))?.trim() ?? '');
    if (value !== null && value < V1_UNLIMITED) limit = limit === null ? value : Math.min(limit, value);
    if (dir === '/') return limit;
    dir = dirname(dir);
  }
}

/** The worker count `"max"` stands for: the CPUs this process may really use, at least 1. */
export function availableCpus(paths: CgroupPaths = SYSTEM): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuQuota(paths);
  return quota === null ? cpus : Math.max(1, Math.min(cpus, Math.floor(quota)));
}
