// `clusterd export kubernetes`'s manifests, from real configs, checked by kubernetes-models (the
// Kubernetes OpenAPI schemas) and for the invariants that make them run the config as clusterd would.
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { ResolvedApp, ResolvedConfig, ResolvedProgram } from '../../src/config/resolved.js';
import { appPorts, dnsLabel, kubernetesManifests, kubernetesWarnings } from '../../src/export/kubernetes.js';
import { isLoopback } from '../../src/export/program.js';
import { resolvedApp } from '../helpers/fake-pool.js';
import { tempDir, writeFiles } from '../helpers/files.js';

const OPTIONS = {
  name: 'shop',
  image: 'registry.example/shop:1.4.2',
  config: 'cluster.config.json',
  workdir: '/app',
  environment: 'production',
  replicas: 3,
  cpus: 4,
  healthPort: 9100,
};

async function load(config: object, cpus: number, environment: string | null = null) {
  const dir = writeFiles(tempDir(), {
    'cluster.config.json': JSON.stringify(config),
    'server.js': '',
    'jobs.js': '',
  });
  return loadConfig({ cwd: dir, environment, cpus: () => cpus });
}

const CONFIG = {
  defaults: { shutdown: { delay: '5s', timeout: '10s' } },
  apps: [
    {
      name: 'Web_Front.v2',
      script: 'server.js',
      instances: 'max',
      env: { PORT: 3000, SECRET_TOKEN: 'hunter2-do-not-print' },
      environments: { production: { DATABASE_URL: 'postgres://user:pw@db/shop' } },
      shutdown: { spread: '20s' },
    },
    { name: 'api', script: 'server.js', instances: 2, env: { PORT: '3001' } },
    { name: 'jobs', script: 'jobs.js', instances: 1, readiness: 'loaded' },
  ],
};

/** A program app (`command`) as the loader resolves it (test/cli/export-kubernetes.test.ts loads real ones). */
const program = (
  name: string,
  listen: ResolvedProgram['listen'],
  extra: Partial<ResolvedApp> = {},
): ResolvedApp =>
  ({
    ...resolvedApp({ name, script: '/usr/bin/python3', args: ['serve.py'], instances: 1, ...extra }),
    program: { command: ['python3', 'serve.py'], file: '/usr/bin/python3', listen },
  }) as ResolvedApp;
const configOf = (apps: ResolvedApp[]): ResolvedConfig => ({
  file: '/app/cluster.config.json',
  environment: null,
  health: null,
  apps,
});
type Container = { command: string[]; ports: { name: string; containerPort: number }[] };

describe('export kubernetes', () => {
  it('writes a Deployment and a Service that the Kubernetes schemas accept', async () => {
    const config = await load(CONFIG, OPTIONS.cpus, 'production');
    const [deployment, service] = kubernetesManifests(config, OPTIONS) as [object, object];
    // validate() throws on anything the API server's OpenAPI schema would refuse.
    expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    expect(() => new Service(service as never).validate()).not.toThrow();
    // And it can fail: a port name Kubernetes refuses.
    const broken = structuredClone(deployment) as {
      spec: { template: { spec: { containers: { ports: { name: string }[] }[] } } };
    };
    (broken.spec.template.spec.containers[0] as { ports: { name: string }[] }).ports[0] = {
      name: 'Not A Port',
    } as never;
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it('runs the config as clusterd would: probes, grace, CPUs, env, ports; no env value written', async () => {
    const config = await load(CONFIG, OPTIONS.cpus, 'production');
    const manifests = kubernetesManifests(config, OPTIONS);
    const text = JSON.stringify(manifests);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('postgres://');
    const [deployment, service] = manifests as [
      {
        spec: {
          replicas: number;
          template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
        };
      },
      { spec: { ports: { name: string; port: number; targetPort: string }[] } },
    ];
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0] as Record<string, unknown>;
    expect(deployment.spec.replicas).toBe(3);
    // The slowest app: 5 s delay + 10 s for a leader's stop handlers + 20 s spread + 10 s timeout, and
    // 5 s to exit.
    expect(pod.terminationGracePeriodSeconds).toBe(50);
    expect(pod.shareProcessNamespace).toBe(true);
    expect(container.command).toEqual([
      'node',
      'node_modules/clusterd/dist/cli/bin.js',
      'start',
      'cluster.config.json',
      '--health',
      '0.0.0.0:9100',
      '--env',
      'production',
    ]);
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/livez', port: 'health' } });
    expect(container.resources).toEqual({ requests: { cpu: '4' }, limits: { cpu: '4' } });
    // "max" resolves as in the pod, whose cgroup grants 4 CPUs.
    expect(config.apps[0]?.instances).toBe(4);
    expect(service.spec.ports).toEqual([
      { name: 'web-front-v2', port: 3000, targetPort: 'web-front-v2', protocol: 'TCP' },
      { name: 'api', port: 3001, targetPort: 'api', protocol: 'TCP' },
    ]);
    expect(kubernetesWarnings(config, OPTIONS)).toEqual([
      'app jobs has no numeric env.PORT: it gets no Service port (add one by hand)',
    ]);
  });

  it('says when no app has a shutdown.delay, or an app has more workers than CPUs', async () => {
    const config = await load(
      { apps: [{ name: 'web', script: 'server.js', instances: 8, env: { PORT: 80 } }] },
      2,
    );
    const warnings = kubernetesWarnings(config, { ...OPTIONS, cpus: 2 });
    expect(warnings[0]).toMatch(/^no app has shutdown\.delay: /);
    expect(warnings[1]).toBe('app web runs 8 workers on 2 CPUs (--cpus)');
    // No app port: no Service.
    const none = await load({ apps: [{ name: 'jobs', script: 'jobs.js', instances: 1 }] }, 1);
    expect(kubernetesManifests(none, OPTIONS)).toHaveLength(1);
  });

  it("exposes a program's listen port, not its env.PORT, and assumes nothing of Node.js about it", () => {
    const config = configOf([
      program('py-api', { host: null, port: 8000, name: 'http' }, { env: { PORT: '9999' } }),
      program('go-edge', { host: '0.0.0.0', port: 8443, name: 'go-edge' }),
      // Listening itself, by the PORT convention.
      program('rb', null, { env: { PORT: '4567' } }),
      resolvedApp({ name: 'node', env: { PORT: '3000' } }),
    ]);
    const [deployment, service] = kubernetesManifests(config, OPTIONS) as [
      { spec: { template: { spec: { containers: Container[] } } } },
      { spec: { ports: { name: string; port: number; targetPort: string }[] } },
    ];
    expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    expect(() => new Service(service as never).validate()).not.toThrow();
    const container = deployment.spec.template.spec.containers[0] as Container;
    expect(container.ports).toEqual([
      { name: 'health', containerPort: 9100, protocol: 'TCP' },
      { name: 'py-api', containerPort: 8000, protocol: 'TCP' },
      { name: 'go-edge', containerPort: 8443, protocol: 'TCP' },
      { name: 'rb', containerPort: 4567, protocol: 'TCP' },
      { name: 'node', containerPort: 3000, protocol: 'TCP' },
    ]);
    expect(service.spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['py-api', 8000, 'py-api'],
      ['go-edge', 8443, 'go-edge'],
      ['rb', 4567, 'rb'],
      ['node', 3000, 'node'],
    ]);
    // The container runs clusterd (the one Node.js in it), which runs the programs as they are.
    expect(container.command.slice(0, 3)).toEqual(['node', 'node_modules/clusterd/dist/cli/bin.js', 'start']);
    expect(JSON.stringify(deployment)).not.toMatch(/python3|serve\.py|NODE_OPTIONS|node_modules\/\.bin/);
    expect(kubernetesWarnings(config, OPTIONS).filter((w) => w.startsWith('app '))).toEqual([]);
  });

  it('says why a program gets no port: none to listen on, or only loopback', () => {
    const config = configOf([
      program('jobs', null),
      program('local', { host: '127.0.0.1', port: 8000, name: 'local' }),
      program('local6', { host: '::1', port: 8001, name: 'local6' }),
      resolvedApp({ name: 'worker', readiness: 'loaded' }),
    ]);
    expect(appPorts(config)).toEqual([]);
    expect(kubernetesManifests(config, OPTIONS)).toHaveLength(1);
    expect(kubernetesWarnings(config, OPTIONS).filter((w) => w.startsWith('app '))).toEqual([
      'app jobs has no "listen" port and no numeric env.PORT: it gets no Service port (add one by hand)',
      'app local listens on 127.0.0.1:8000, which only the pod itself can reach: it gets no container or Service port',
      'app local6 listens on [::1]:8001, which only the pod itself can reach: it gets no container or Service port',
      'app worker has no numeric env.PORT: it gets no Service port (add one by hand)',
    ]);
  });

  it('tells loopback listen hosts from others', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ])
      expect([host, isLoopback(host)]).toEqual([host, true]);
    for (const host of [null, '0.0.0.0', '::', '10.0.0.5', 'example.com', '::ffff:10.0.0.1', '128.0.0.1'])
      expect([host, isLoopback(host)]).toEqual([host, false]);
  });

  it('makes names Kubernetes takes', () => {
    expect(dnsLabel('Web_Front.v2')).toBe('web-front-v2');
    expect(dnsLabel('9lives')).toBe('lives');
    expect(dnsLabel('___')).toBeNull();
    expect(dnsLabel('a-very-long-application-name', 15)).toBe('a-very-long-app');
  });

  it('gives apps whose names shorten alike distinct port names', async () => {
    const config = await load(
      {
        apps: [
          { name: 'checkout-service-a', script: 'server.js', instances: 1, env: { PORT: 1 } },
          { name: 'checkout-service-b', script: 'server.js', instances: 1, env: { PORT: 2 } },
          { name: 'checkout-service-c', script: 'server.js', instances: 1, env: { PORT: 3 } },
        ],
      },
      1,
    );
    const names = appPorts(config).map((p) => p.name);
    expect(names).toEqual(['checkout-servic', 'checkout-serv-2', 'checkout-serv-3']);
    expect(names.every((n) => n.length <= 15)).toBe(true);
  });
});
