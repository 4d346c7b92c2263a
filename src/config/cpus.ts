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

/**
 * CPUs granted by the cgroup v2 `cpu.max` quotas on this process's cgroup and its ancestors
 * (the tightest one wins), or null when none is set or cgroup v2 is not in use.
 */
export function cgroupCpuQuota(paths: CgroupPaths = SYSTEM): number | null {
  const self = readText(paths.self);
  const line = self?.split('\n').find((l) => l.startsWith('0::'));
  if (!line) return null;
  let dir = line.slice(3).trim() || '/';
  let quota: number | null = null;
  for (;;) {
    const max = readText(join(paths.root, dir, 'cpu.max'))
      ?.trim()
      .split(/\s+/);
    if (max && max[0] !== 'max') {
      const cpus = Number(max[0]) / Number(max[1] ?? 100_000);
      if (Number.isFinite(cpus) && cpus > 0) quota = quota === null ? cpus : Math.min(quota, cpus);
    }
    if (dir === '/') return quota;
    dir = dirname(dir);
  }
}

/** The worker count `"max"` stands for: the CPUs this process may really use, at least 1. */
export function availableCpus(paths: CgroupPaths = SYSTEM): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuQuota(paths);
  return quota === null ? cpus : Math.max(1, Math.min(cpus, Math.floor(quota)));
}
