import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResource, detectContainerId, findAppPackage } from '../../dist/src/telemetry/resource.js';
import { loadConfig } from '../../dist/src/config.js';
import { VERSION } from '../../dist/src/version.js';

const ID = 'a3b1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const LAYER = '9f3c5e0e4b2e6d1f8a7b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const SANDBOX = '5d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8';

/** A read() over fake /proc files; a missing file throws like readFileSync does. */
function fakeProc(files) {
  return (path) => {
    if (path in files) return files[path];
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  };
}

const CGROUP_V2 = '0::/\n';

describe('detectContainerId', () => {
  it('reads the id from a cgroup v1 file', () => {
    const cgroup = [
      `12:pids:/docker/${ID}`,
      `11:memory:/docker/${ID}`,
      '1:name=systemd:/docker/' + ID,
      '',
    ].join('\n');
    assert.equal(detectContainerId(fakeProc({ '/proc/self/cgroup': cgroup })), ID);
  });

  it('reads the id from a Kubernetes cgroup v1 path', () => {
    const cgroup = `4:cpu,cpuacct:/kubepods/burstable/pod7d1d6f2c-0b0a-4a5e-9a43-2f0c1b6e3d21/${ID}\n`;
    assert.equal(detectContainerId(fakeProc({ '/proc/self/cgroup': cgroup })), ID);
  });

  it('reads a Docker container id from cgroup v2 mountinfo, not the overlay layer id before it', () => {
    const mountinfo = [
      `540 451 0:48 / / rw,relatime master:233 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ZXCVB:/var/lib/docker/overlay2/l/ASDFG,upperdir=/var/lib/docker/overlay2/${LAYER}/diff,workdir=/var/lib/docker/overlay2/${LAYER}/work`,
      '541 540 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
      '545 540 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw',
      `556 540 254:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw`,
      `557 540 254:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw`,
      `558 540 254:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw`,
      '',
    ].join('\n');
    assert.equal(detectContainerId(fakeProc({ '/proc/self/cgroup': CGROUP_V2, '/proc/self/mountinfo': mountinfo })), ID);
  });

  it('reads the sandbox id from containerd (Kubernetes) mountinfo lines', () => {
    const mountinfo = [
      '1410 1321 0:310 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/71/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/80/fs',
      '1420 1410 259:1 /var/lib/kubelet/pods/7d1d6f2c-0b0a-4a5e-9a43-2f0c1b6e3d21/etc-hosts /etc/hosts rw,relatime - ext4 /dev/root rw',
      '1421 1410 259:1 /var/lib/kubelet/pods/7d1d6f2c-0b0a-4a5e-9a43-2f0c1b6e3d21/containers/app/6c3b2a1f /dev/termination-log rw,relatime - ext4 /dev/root rw',
      `1422 1410 259:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/${SANDBOX}/hostname /etc/hostname rw,relatime - ext4 /dev/root rw`,
      `1423 1410 0:25 /containerd/io.containerd.grpc.v1.cri/sandboxes/${SANDBOX}/resolv.conf /etc/resolv.conf rw,nosuid,nodev - tmpfs tmpfs rw`,
    ].join('\n');
    assert.equal(detectContainerId(fakeProc({ '/proc/self/cgroup': CGROUP_V2, '/proc/self/mountinfo': mountinfo })), SANDBOX);
  });

  it("does not take another container's id from a Docker host's own mounts", () => {
    const mountinfo = [
      '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw',
      `301 22 0:57 / /var/lib/docker/overlay2/${LAYER}/merged rw,relatime - overlay overlay rw,upperdir=/var/lib/docker/overlay2/${LAYER}/diff`,
      `320 22 0:60 / /var/lib/docker/containers/${ID}/mounts/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k`,
    ].join('\n');
    const read = fakeProc({ '/proc/self/cgroup': '0::/user.slice/user-1000.slice/session-2.scope\n', '/proc/self/mountinfo': mountinfo });
    assert.equal(detectContainerId(read), undefined);
  });

  it('returns undefined when there is no container id or no /proc at all', () => {
    assert.equal(detectContainerId(fakeProc({ '/proc/self/cgroup': CGROUP_V2, '/proc/self/mountinfo': '22 1 259:2 / / rw - ext4 /dev/sda1 rw\n' })), undefined);
    assert.equal(detectContainerId(fakeProc({})), undefined);
  });
});

describe('findAppPackage', () => {
  let dir;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'periscope-resource-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop-api', version: '2.5.0' }));
    mkdirSync(join(dir, 'src', 'esm', 'deep'), { recursive: true });
    // A package.json that only sets the module type names nothing; a broken one is skipped too.
    writeFileSync(join(dir, 'src', 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'src', 'esm', 'package.json'), '{ not json');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the package.json next to the entry script', () => {
    assert.deepEqual(findAppPackage(join(dir, 'server.js')), { name: 'shop-api', version: '2.5.0' });
  });

  it('walks up past package.json files without a name and unreadable ones', () => {
    assert.equal(findAppPackage(join(dir, 'src', 'esm', 'deep', 'main.mjs')).name, 'shop-api');
  });

  it('returns nothing without an entry script', () => {
    assert.deepEqual(findAppPackage(undefined), {});
    assert.deepEqual(findAppPackage(''), {});
  });

  describe('buildResource', () => {
    const entry = () => join(dir, 'src', 'index.js');
    const build = (env, e = entry()) => buildResource(loadConfig(env).config, e).attributes;

    it('names the service after OTEL_SERVICE_NAME before anything else', () => {
      assert.equal(build({ OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })['service.name'], 'from-env');
    });

    it('names the service from OTEL_RESOURCE_ATTRIBUTES before the package name', () => {
      assert.equal(build({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })['service.name'], 'from-attrs');
    });

    it('names the service after the package, with its version', () => {
      const attrs = build({});
      assert.equal(attrs['service.name'], 'shop-api');
      assert.equal(attrs['service.version'], '2.5.0');
    });

    it('falls back to unknown_service:node without any name', () => {
      const bare = mkdtempSync(join(tmpdir(), 'periscope-bare-'));
      try {
        writeFileSync(join(bare, 'package.json'), JSON.stringify({ type: 'module', version: '1.0.0' }));
        const attrs = build({}, join(bare, 'main.mjs'));
        assert.equal(attrs['service.name'], 'unknown_service:node');
        assert.equal('service.version' in attrs, false);
      } finally {
        rmSync(bare, { recursive: true, force: true });
      }
    });

    it('lets OTEL_RESOURCE_ATTRIBUTES override detected values and add its own', () => {
      const attrs = build({ OTEL_RESOURCE_ATTRIBUTES: 'service.version=9.9.9,deployment.environment.name=prod' });
      assert.equal(attrs['service.version'], '9.9.9');
      assert.equal(attrs['deployment.environment.name'], 'prod');
    });

    it('describes the SDK, the process and the host', () => {
      const attrs = build({});
      assert.equal(attrs['telemetry.sdk.name'], 'periscope');
      assert.equal(attrs['telemetry.sdk.language'], 'nodejs');
      assert.equal(attrs['telemetry.sdk.version'], VERSION);
      assert.equal(attrs['telemetry.distro.name'], 'periscope-agent');
      assert.equal(attrs['process.pid'], process.pid);
      assert.equal(attrs['process.runtime.name'], 'nodejs');
      assert.equal(attrs['process.runtime.version'], process.versions.node);
      assert.equal(typeof attrs['host.name'], 'string');
      assert.match(attrs['service.instance.id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(build({})['service.instance.id'], attrs['service.instance.id']);
    });

    it('adds the Kubernetes attributes found in the config', () => {
      const attrs = build({ K8S_POD_NAME: 'shop-7d9f', POD_NAMESPACE: 'prod', NODE_NAME: 'node-3' });
      assert.equal(attrs['k8s.pod.name'], 'shop-7d9f');
      assert.equal(attrs['k8s.namespace.name'], 'prod');
      assert.equal(attrs['k8s.node.name'], 'node-3');
      assert.equal('k8s.pod.name' in build({}), false);
    });

    it('returns frozen attributes', () => {
      assert.ok(Object.isFrozen(build({})));
    });
  });
});
