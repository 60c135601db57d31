// deploy/kubernetes without a cluster: every manifest against the Kubernetes API schemas (npm package
// kubernetes-models, generated from the Kubernetes OpenAPI spec), the injection pattern checked field by field,
// and its NODE_OPTIONS run for real on an app whose own node_modules has no periscope.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ROOT, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { waitForMetricsPort } from '../helpers/metrics.js';
import { readDeploy, yamlDocsOf, yamlOf } from '../helpers/deploy.js';

const MODELS = { 'v1/ConfigMap': ConfigMap, 'v1/Service': Service, 'apps/v1/Deployment': Deployment };
const kustomization = yamlOf('kubernetes/kustomization.yaml');
const manifests = kustomization.resources.flatMap((file) => yamlDocsOf(`kubernetes/${file}`).map((m) => ({ file, ...m })));
const deployment = manifests.find((m) => m.kind === 'Deployment');
const pod = deployment.spec.template;
const [app] = pod.spec.containers;
const [init] = pod.spec.initContainers;
const envOf = (name) => app.env.find((e) => e.name === name);

const dir = mkdtempSync(join(tmpdir(), 'periscope-k8s-'));
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

test('every manifest in the kustomization is valid against the Kubernetes API schemas', () => {
  assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'Service']);
  for (const { file, ...m } of manifests) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    assert.ok(Model, `${file}: no schema for ${m.apiVersion} ${m.kind}`);
    assert.doesNotThrow(() => new Model(m).validate(), `${file}: ${m.kind} ${m.metadata?.name}`);
  }
});

test('the schema check is real: it rejects a Deployment with a port that is not a number', () => {
  const broken = structuredClone(deployment);
  delete broken.file;
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  assert.throws(() => new Deployment(broken).validate(), /containerPort/);
});

test('the init container copies the agent into the volume the app loads it from, by absolute path', () => {
  const volume = pod.spec.volumes.find((v) => v.emptyDir);
  assert.ok(volume, 'a shared emptyDir');
  const initMount = init.volumeMounts.find((m) => m.name === volume.name);
  const appMount = app.volumeMounts.find((m) => m.name === volume.name);
  assert.ok(initMount && appMount, 'both containers mount it');
  assert.equal(appMount.readOnly, true, 'the app cannot change the agent');
  // cp -a /periscope-agent <mount>/ puts the agent at <mount>/periscope-agent.
  const [cp, flags, source, dest] = init.command;
  assert.deepEqual([cp, flags], ['cp', '-a']);
  assert.equal(dest.replace(/\/$/, ''), initMount.mountPath);
  const installed = `${appMount.mountPath}/${source.split('/').pop()}`;
  assert.equal(envOf('NODE_OPTIONS').value, `--import ${installed}/dist/register.js`);
  // The image the init container runs is built with the agent at that source path.
  const dockerfile = readDeploy('kubernetes/agent.Dockerfile');
  assert.match(dockerfile, new RegExp(`^COPY --from=build ${source} ${source}$`, 'm'));
  assert.match(init.image, /:\d+\.\d+\.\d+$/, 'the agent image is pinned');
});

test('the ConfigMap holds documented settings, and the app takes them all plus its pod identity', () => {
  const config = manifests.find((m) => m.kind === 'ConfigMap');
  assert.deepEqual(app.envFrom, [{ configMapRef: { name: config.metadata.name } }]);
  const documented = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  for (const key of Object.keys(config.data)) {
    assert.match(key, /^(OTEL|PERISCOPE)_[A-Z_]+$/);
    assert.ok(documented.includes(`\`${key}\``), `${key} is not in docs/configuration.md`);
  }
  for (const [name, field] of [['K8S_POD_NAME', 'metadata.name'], ['K8S_NAMESPACE_NAME', 'metadata.namespace'], ['K8S_NODE_NAME', 'spec.nodeName']]) {
    assert.equal(envOf(name)?.valueFrom.fieldRef.fieldPath, field, name);
  }
  assert.ok(envOf('OTEL_SERVICE_NAME'), 'each app names its service');
});

test('Prometheus annotations name the metrics port, which neither readiness nor the Service uses', () => {
  const metricsPort = String(manifests.find((m) => m.kind === 'ConfigMap').data.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464);
  const a = pod.metadata.annotations;
  assert.equal(a['prometheus.io/scrape'], 'true');
  assert.equal(a['prometheus.io/port'], metricsPort);
  assert.equal(a['prometheus.io/path'], '/metrics');
  const ports = Object.fromEntries(app.ports.map((p) => [p.name, String(p.containerPort)]));
  assert.equal(ports.metrics, metricsPort, 'the metrics port is declared on the container');
  for (const probe of [app.readinessProbe, app.livenessProbe]) {
    const port = String(ports[probe.httpGet.port] ?? probe.httpGet.port);
    assert.notEqual(port, metricsPort, 'periscope answers on its port before the app can serve: it must not decide health');
  }
  const service = manifests.find((m) => m.kind === 'Service');
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  for (const p of service.spec.ports) assert.notEqual(String(ports[p.targetPort] ?? p.targetPort), metricsPort);
});

test('every container, the init container too, requests CPU and memory and has a memory limit', () => {
  for (const c of [...pod.spec.initContainers, ...pod.spec.containers]) {
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name}: requests`);
    assert.ok(c.resources.limits?.memory, `${c.name}: memory limit`);
  }
});

test('the Deployment\'s NODE_OPTIONS starts periscope in an ESM app whose own node_modules lacks it, where a bare specifier fails', async () => {
  // The pod's layout on disk: <otel>/periscope-agent is the installed package (here: this repository, built),
  // and the app lives elsewhere with a node_modules of its own.
  const otel = join(dir, 'otel');
  mkdirSync(otel);
  symlinkSync(ROOT, join(otel, 'periscope-agent'), 'dir');
  const appDir = join(dir, 'app');
  mkdirSync(join(appDir, 'node_modules'), { recursive: true });
  writeFileSync(join(appDir, 'package.json'), '{"name":"checkout","type":"module"}\n');
  writeFileSync(
    join(appDir, 'server.js'),
    "import { createServer } from 'node:http';\nconst s = createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => console.log(`listening ${s.address().port}`));\nprocess.on('SIGTERM', () => s.close(() => process.exit(0)));\n",
  );
  const nodeOptions = envOf('NODE_OPTIONS').value.replace(`${app.volumeMounts[0].mountPath}/`, `${otel}/`);
  const env = { OTEL_LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: 'none' };

  const instrumented = runFixture(join(appDir, 'server.js'), { preload: false, cwd: appDir, env: { ...env, NODE_OPTIONS: nodeOptions } });
  await waitForPort(instrumented);
  assert.ok((await waitForMetricsPort(instrumented)) > 0, 'periscope opened its metrics endpoint');

  const bare = runFixture(join(appDir, 'server.js'), { preload: false, cwd: appDir, env: { ...env, NODE_OPTIONS: '--import periscope-agent/register' } });
  const { code } = await bare.exited;
  assert.notEqual(code, 0);
  assert.match(bare.stderr(), /ERR_MODULE_NOT_FOUND|Cannot find package 'periscope-agent'/);
});
