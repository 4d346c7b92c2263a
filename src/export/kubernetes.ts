// `clusterd export kubernetes`: a Deployment and a Service that run this config in a container, as pure
// data from the resolved config (the CLI prints it as YAML). What it decides:
// - The container runs `node node_modules/clusterd/dist/cli/bin.js start <config>` from the image's
//   working directory, with the health server on 0.0.0.0 (a probe comes from the kubelet, not from
//   loopback) and the chosen `--env`. The env values themselves are never written: clusterd reads them
//   from the config inside the image, and they often hold secrets.
// - Readiness probes `/readyz`, liveness `/livez` (see docs/health.md for what each means).
// - terminationGracePeriodSeconds covers the slowest app's shutdown.delay + spread + timeout, plus the
//   time to exit: Kubernetes SIGKILLs the pod when it runs out.
// - CPU requests and limits are `cpus`, and the config is resolved with `instances: "max"` as that many
//   CPUs: in the pod, clusterd reads the same figure from the cgroup's cpu.max (config/cpus.ts).
// - A container and Service port for every app's port: a program's `listen.port` (the socket clusterd
//   opens for its instances), else the app's `env.PORT` when it is a number (Node.js apps, and programs
//   that listen themselves by that convention). A program listening on loopback gets none: nothing
//   outside the pod can reach it.
// - Nothing of Node.js is assumed of the apps: clusterd itself is what runs on Node.js in the container,
//   and it runs programs (`command`) as they are.
// - shareProcessNamespace, so that clusterd is not the pod's PID 1 (zombies: docs/deploy.md).
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import { stopBudgetMs } from '../lifecycle/stop-budget.js';
import { describeListen, isLoopback } from './program.js';

export interface KubernetesOptions {
  /** The Deployment's name (a DNS-1123 label). */
  name: string;
  image: string;
  /** The config file's path inside the image, relative to `workdir` (or absolute). */
  config: string;
  workdir: string;
  environment: string | null;
  replicas: number;
  /** CPUs of the pod (requests = limits). */
  cpus: number;
  /** The container port of the health server. */
  healthPort: number;
  namespace?: string;
}

/** Time to exit after the last worker stopped, on top of the shutdown settings (s). */
const EXIT_MARGIN_S = 5;

/** A DNS-1123 label (lower case, digits, '-'; a letter first; at most `max`) from a name, or null. */
export function dnsLabel(name: string, max = 63): string | null {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return label === '' ? null : label;
}

/** The grace Kubernetes gives the pod between SIGTERM and SIGKILL (s). */
export function gracePeriod(config: ResolvedConfig): number {
  const slowest = Math.max(0, ...config.apps.map(stopBudgetMs));
  return Math.ceil(slowest / 1000) + EXIT_MARGIN_S;
}

/** An app's port for the pod to expose, or why it has none (for the warning). */
function portOf(app: ResolvedApp): { port: number } | { none: string } {
  const listen = app.program?.listen;
  if (listen) {
    if (isLoopback(listen.host))
      return {
        none: `listens on ${describeListen(listen)}, which only the pod itself can reach: it gets no container or Service port`,
      };
    return { port: listen.port };
  }
  const value = app.env.PORT;
  const port = value == null || !/^\d{1,5}$/.test(value) ? Number.NaN : Number(value);
  if (port > 0 && port <= 65535) return { port };
  return {
    none: `has no ${app.program ? '"listen" port and no ' : ''}numeric env.PORT: it gets no Service port (add one by hand)`,
  };
}

/**
 * Ports the apps listen on (a program's `listen.port`, else the app's `env.PORT`), each with a port name
 * Kubernetes accepts; a port two apps share is listed once.
 */
export function appPorts(config: ResolvedConfig): { name: string; port: number; app: string }[] {
  const ports: { name: string; port: number; app: string }[] = [];
  const names = new Set<string>(['health']);
  for (const app of config.apps) {
    const found = portOf(app);
    if (!('port' in found) || ports.some((p) => p.port === found.port)) continue;
    const { port } = found;
    // Port names: at most 15 characters, with a letter; unique in the pod.
    const base = dnsLabel(app.name, 15) ?? `app-${ports.length}`;
    let name = base;
    for (let i = 2; names.has(name); i++)
      name = `${base.slice(0, 15 - String(i).length - 1).replace(/-+$/, '')}-${i}`;
    names.add(name);
    ports.push({ name, port, app: app.name });
  }
  return ports;
}

export function kubernetesManifests(config: ResolvedConfig, options: KubernetesOptions): object[] {
  const labels = { 'app.kubernetes.io/name': options.name, 'app.kubernetes.io/managed-by': 'clusterd' };
  const selector = { 'app.kubernetes.io/name': options.name };
  const metadata = {
    name: options.name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels,
  };
  const ports = appPorts(config);
  const command = [
    'node',
    'node_modules/clusterd/dist/cli/bin.js',
    'start',
    options.config,
    '--health',
    `0.0.0.0:${options.healthPort}`,
    ...(options.environment ? ['--env', options.environment] : []),
  ];
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'health' },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: gracePeriod(config),
          // The pod's pause container is PID 1 then, and reaps what is re-parented (clusterd as PID 1
          // cannot: Node reaps only its own children; docs/deploy.md).
          shareProcessNamespace: true,
          containers: [
            {
              name: 'clusterd',
              image: options.image,
              workingDir: options.workdir,
              command,
              ports: [
                { name: 'health', containerPort: options.healthPort, protocol: 'TCP' },
                ...ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
              ],
              readinessProbe: probe('/readyz', 5, 2),
              livenessProbe: probe('/livez', 10, 3),
              resources: {
                requests: { cpu: String(options.cpus) },
                limits: { cpu: String(options.cpus) },
              },
            },
          ],
        },
      },
    },
  };
  if (ports.length === 0) return [deployment];
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      selector,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })),
    },
  };
  return [deployment, service];
}

/** What the operator should know about the manifests (printed to stderr, not into them). */
export function kubernetesWarnings(config: ResolvedConfig, options: KubernetesOptions): string[] {
  const warnings: string[] = [];
  if (config.apps.every((a) => a.shutdown.delay === 0))
    warnings.push(
      'no app has shutdown.delay: Kubernetes stops sending to a terminating pod only a few seconds after its SIGTERM; set "defaults": { "shutdown": { "delay": "5s" } } so that no request meets a closed port',
    );
  for (const app of config.apps)
    if (app.instances > options.cpus)
      warnings.push(`app ${app.name} runs ${app.instances} workers on ${options.cpus} CPUs (--cpus)`);
  for (const app of config.apps) {
    const found = portOf(app);
    if ('none' in found) warnings.push(`app ${app.name} ${found.none}`);
  }
  return warnings;
}
