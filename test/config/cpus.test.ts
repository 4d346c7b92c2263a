import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { availableCpus, cgroupCpuQuota } from '../../src/config/cpus.js';
import { tempDir, writeFiles } from '../helpers/files.js';

// A fake cgroup v2 tree: /proc/self/cgroup names the process's cgroup, cpu.max files set quotas.
function cgroup(self: string, cpuMax: Record<string, string>) {
  const dir = tempDir();
  const files: Record<string, string> = { 'proc-self-cgroup': self };
  for (const [path, value] of Object.entries(cpuMax)) files[`root${path}/cpu.max`] = value;
  writeFiles(dir, files);
  return { root: `${dir}/root`, self: `${dir}/proc-self-cgroup` };
}

describe('cgroup v2 cpu.max', () => {
  it('reads a quota on the own cgroup', () => {
    expect(cgroupCpuQuota(cgroup('0::/app\n', { '/app': '150000 100000\n' }))).toBe(1.5);
  });

  it('takes the tightest quota among the ancestors', () => {
    const paths = cgroup('0::/a/b\n', { '': '400000 100000', '/a': '100000 100000', '/a/b': 'max 100000' });
    expect(cgroupCpuQuota(paths)).toBe(1);
  });

  it('has no quota when cpu.max says max or is missing', () => {
    expect(cgroupCpuQuota(cgroup('0::/x\n', { '/x': 'max 100000' }))).toBeNull();
    expect(cgroupCpuQuota(cgroup('0::/x\n', {}))).toBeNull();
  });

  it('has no quota on a cgroup v1-only system', () => {
    expect(cgroupCpuQuota(cgroup('4:memory:/x\n1:cpu:/\n', {}))).toBeNull();
  });

  it('caps availableParallelism by the quota, rounding down, at least 1', () => {
    expect(availableCpus(cgroup('0::/\n', { '': '50000 100000' }))).toBe(1);
    const generous = cgroup('0::/\n', { '': `${(availableParallelism() + 4) * 100000} 100000` });
    expect(availableCpus(generous)).toBe(availableParallelism());
    expect(availableCpus(cgroup('0::/\n', {}))).toBe(availableParallelism());
  });
});
