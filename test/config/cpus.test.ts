import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { availableCpus, cgroupCpuQuota, cgroupMemoryMax } from '../../src/config/cpus.js';
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

describe('cgroup memory limit', () => {
  const tree = (self: string, files: Record<string, string>) => {
    const dir = tempDir();
    writeFiles(dir, {
      'proc-self-cgroup': self,
      ...Object.fromEntries(Object.entries(files).map(([p, v]) => [`root${p}`, v])),
    });
    return { root: `${dir}/root`, self: `${dir}/proc-self-cgroup` };
  };

  it('reads the tightest cgroup v2 memory.max, and none when it says max', () => {
    const paths = tree('0::/a/b\n', { '/a/memory.max': '1073741824\n', '/a/b/memory.max': 'max\n' });
    expect(cgroupMemoryMax(paths)).toBe(1024 ** 3);
    expect(cgroupMemoryMax(tree('0::/x\n', { '/x/memory.max': 'max\n' }))).toBeNull();
  });

  it("reads cgroup v1's memory.limit_in_bytes where v2 sets none; its huge value is no limit", () => {
    const self = '4:memory:/docker/abc\n1:cpu,cpuacct:/\n0::/\n';
    const paths = tree(self, {
      '/memory/docker/memory.limit_in_bytes': '536870912\n',
      '/memory/docker/abc/memory.limit_in_bytes': '9223372036854771712\n',
    });
    expect(cgroupMemoryMax(paths)).toBe(512 * 1024 ** 2);
    const unlimited = tree(self, { '/memory/docker/abc/memory.limit_in_bytes': '9223372036854771712\n' });
    expect(cgroupMemoryMax(unlimited)).toBeNull();
  });
});
