// The resource: who is emitting. Built once at start-up from the config and a few cheap,
// synchronous probes (nearest package.json, /proc cgroup files); nothing here runs per request.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { AttributeValue } from '@opentelemetry/api';
import type { PeriscopeConfig } from '../config.js';
import { VERSION } from '../version.js';
import { newUuid } from './ids.js';
import type { Resource } from './types.js';

interface PackageInfo {
  name?: string;
  version?: string;
}

/** The package.json nearest the entry script (the app's, not ours). */
export function findAppPackage(entry: string | undefined): PackageInfo {
  if (!entry) return {};
  let dir = dirname(resolve(entry));
  for (let i = 0; i < 32; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageInfo;
      // A package.json with only "type" (common next to .mjs/.cjs fixtures) names nothing: keep looking up.
      if (typeof pkg.name === 'string' && pkg.name !== '') return pkg;
    } catch {
      // no (readable) package.json here
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {};
}

// cgroup v1 lists the container id in /proc/self/cgroup; cgroup v2 hides it there, but the
// container runtime's mounts (hostname, resolv.conf) in /proc/self/mountinfo still carry it.
const CONTAINER_ID = /([0-9a-f]{64})/;
// Only the source path (field 4) of the bind mounts onto /etc/hostname, /etc/hosts and
// /etc/resolv.conf: the overlay root line carries 64-hex *layer* ids first
// (upperdir=/var/lib/docker/overlay2/<layer>/diff), and on a Docker host the daemon's own mounts
// (/var/lib/docker/containers/<id>/mounts/shm) name other containers.
const RUNTIME_MOUNT = /^\d+ \d+ \d+:\d+ (\S+) \/etc\/(?:hostname|hosts|resolv\.conf) /;

export function detectContainerId(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  for (const file of ['/proc/self/cgroup', '/proc/self/mountinfo']) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const source = file.endsWith('mountinfo') ? RUNTIME_MOUNT.exec(line)?.[1] : line;
      const m = source === undefined ? null : CONTAINER_ID.exec(source);
      if (m?.[1]) return m[1];
    }
  }
  return undefined;
}

export function buildResource(config: PeriscopeConfig, entry: string | undefined = process.argv[1]): Resource {
  const pkg = findAppPackage(entry);
  const attrs: Record<string, AttributeValue> = {
    'service.name': `unknown_service:node`,
    'telemetry.sdk.name': 'periscope',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': VERSION,
    'telemetry.distro.name': 'periscope-agent',
    'telemetry.distro.version': VERSION,
    'service.instance.id': newUuid(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.runtime.description': 'Node.js',
    'host.name': hostname(),
    'host.arch': process.arch === 'x64' ? 'amd64' : process.arch,
    'os.type': process.platform,
  };
  if (pkg.name) attrs['service.name'] = pkg.name;
  if (pkg.version) attrs['service.version'] = pkg.version;
  const containerId = detectContainerId();
  if (containerId) attrs['container.id'] = containerId;
  if (config.k8s.podName) attrs['k8s.pod.name'] = config.k8s.podName;
  if (config.k8s.namespace) attrs['k8s.namespace.name'] = config.k8s.namespace;
  if (config.k8s.nodeName) attrs['k8s.node.name'] = config.k8s.nodeName;
  // OTEL_RESOURCE_ATTRIBUTES overrides what we detected; OTEL_SERVICE_NAME overrides everything.
  Object.assign(attrs, config.resourceAttributes);
  if (config.serviceName) attrs['service.name'] = config.serviceName;
  return { attributes: Object.freeze(attrs) };
}
