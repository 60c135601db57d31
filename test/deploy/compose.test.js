// deploy/compose/docker-compose.yml checked without a Docker engine: what `docker compose config` and a first
// `up` would catch (unpinned images, missing files, names and ports that resolve to nothing), plus the wiring
// between the stack's own config files. Needs nothing beyond npm ci.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { DEPLOY, readDeploy, yamlOf } from '../helpers/deploy.js';

const COMPOSE_DIR = join(DEPLOY, 'compose');
const compose = yamlOf('compose/docker-compose.yml');
const services = compose.services;
const names = Object.keys(services);
// Host paths a compose file may bind that are not in this repository.
const HOST_PATHS = new Set(['/var/run/docker.sock']);

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const env = (svc) => services[svc].environment ?? {};

// Short volume syntax: `source:target[:mode]`; a source that is a path is a bind mount, else a named volume.
function mounts(svc) {
  return asList(services[svc].volumes).map((v) => {
    const [source, target] = v.split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return { source, target, bind, host: bind && !isAbsolute(source) ? resolve(COMPOSE_DIR, source) : source };
  });
}

/** The repository path a container path of `svc` comes from, through its bind mounts; undefined if none. */
function hostPath(svc, containerPath) {
  for (const m of mounts(svc)) {
    if (!m.bind) continue;
    if (containerPath === m.target) return m.host;
    if (containerPath.startsWith(`${m.target}/`)) return join(m.host, containerPath.slice(m.target.length + 1));
  }
  return undefined;
}

function flag(svc, name) {
  const args = asList(services[svc].command);
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
    if (args[i] === name) return args[i + 1];
  }
  return undefined;
}

// Ports a service listens on inside the network: `expose`, and the container side of `ports`.
function listening(svc) {
  const s = services[svc];
  return new Set([...asList(s.expose).map(String), ...asList(s.ports).map((p) => String(p).split(':').at(-1).split('/')[0])]);
}

function dockerfile(svc) {
  const { context, dockerfile: file = 'Dockerfile' } = services[svc].build;
  const ctx = resolve(COMPOSE_DIR, context);
  return { ctx, path: resolve(ctx, file) };
}

// Dockerfile instructions with `\` continuations joined.
function instructions(path) {
  return readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest };
    });
}

const prometheus = yamlOf('prometheus/prometheus.yml');
const periscopeApps = names.filter((n) => /--import periscope-agent\/register\b/.test(env(n).NODE_OPTIONS ?? ''));

test('pins every image to a version, and every stage of every build', () => {
  for (const name of names) {
    const s = services[name];
    assert.ok(s.image || s.build, `${name} has neither image nor build`);
    const images = s.image ? [s.image] : [];
    if (s.build) {
      const { path } = dockerfile(name);
      const stages = new Set();
      for (const { args } of instructions(path).filter((i) => i.op === 'FROM')) {
        const from = args.filter((a) => !a.startsWith('--'));
        if (!stages.has(from[0])) images.push(from[0]); // FROM <earlier stage> is no image
        if (from[1]?.toUpperCase() === 'AS') stages.add(from[2]);
      }
    }
    for (const image of images) {
      const tag = /^[\w.\-/]+:([\w.-]+)$/.exec(image)?.[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: image ${image} is not pinned to a version`);
    }
  }
});

test('binds only files that exist, uses only declared volumes, and builds only from files that exist', () => {
  for (const name of names) {
    for (const m of mounts(name)) {
      if (!m.bind) assert.ok(m.source in (compose.volumes ?? {}), `${name}: named volume ${m.source} is not declared`);
      else if (isAbsolute(m.source)) assert.ok(HOST_PATHS.has(m.source), `${name}: binds host path ${m.source}`);
      else assert.ok(existsSync(m.host), `${name}: ${m.source} does not exist`);
    }
    if (!services[name].build) continue;
    const { ctx, path } = dockerfile(name);
    assert.ok(existsSync(path), `${name}: ${relative(COMPOSE_DIR, path)} does not exist`);
    const copied = [];
    for (const { op, args } of instructions(path)) {
      if (op !== 'COPY' || args.some((a) => a.startsWith('--from'))) continue;
      const files = args.filter((a) => !a.startsWith('--'));
      for (const src of files.slice(0, -1)) {
        assert.ok(existsSync(join(ctx, src)), `${name}: COPY ${src}: no such file in the build context`);
        copied.push(basename(src));
      }
    }
    // `node <script>` must run something the image was given.
    const [cmd, script] = asList(services[name].command);
    if (cmd === 'node') assert.ok(copied.includes(script), `${name}: runs ${script}, which its Dockerfile never copies`);
  }
});

test('names only services the stack defines, on ports those services listen on', () => {
  for (const name of names) {
    for (const dep of asList(services[name].depends_on)) assert.ok(names.includes(dep), `${name} depends on unknown service ${dep}`);
  }
  const refs = []; // [where, owner service, "host:port"]
  const urlRefs = (where, owner, text) => {
    for (const m of String(text).matchAll(/https?:\/\/([\w.-]+:\d+)/g)) refs.push([where, owner, m[1]]);
  };
  for (const name of names) for (const [k, v] of Object.entries(env(name))) urlRefs(`${name} env ${k}`, name, v);
  for (const job of prometheus.scrape_configs) {
    for (const sc of job.static_configs) for (const t of sc.targets) refs.push([`prometheus job ${job.job_name}`, 'prometheus', t]);
  }
  for (const am of prometheus.alerting.alertmanagers) {
    for (const sc of am.static_configs) for (const t of sc.targets) refs.push(['prometheus alerting', 'prometheus', t]);
  }
  for (const ds of yamlOf('grafana/provisioning/datasources/datasources.yml').datasources) urlRefs(`grafana data source ${ds.name}`, 'grafana', ds.url);
  urlRefs('alloy config', 'alloy', readDeploy('alloy/config.alloy'));
  assert.ok(refs.length >= 10, `found only ${refs.length} references`);
  for (const [where, owner, hostPort] of refs) {
    const [host, port] = hostPort.split(':');
    const svc = host === 'localhost' ? owner : host;
    assert.ok(names.includes(svc), `${where}: ${hostPort} names no service`);
    assert.ok(listening(svc).has(port), `${where}: ${svc} does not listen on ${port} (expose: or ports:)`);
  }
});

test('runs both example services under the preload, each scraped by a job of its own name and its logs read by Alloy', () => {
  assert.deepEqual(periscopeApps.sort(), ['backend', 'frontend']);
  const alloy = readDeploy('alloy/config.alloy');
  const [, labelKey, labelValue] = /name\s*=\s*"label"\s*values\s*=\s*\["([\w.-]+)=([\w.-]+)"\]/.exec(alloy) ?? [];
  assert.ok(labelKey, 'Alloy filters containers by a label');
  for (const name of periscopeApps) {
    const e = env(name);
    assert.equal(e.OTEL_SERVICE_NAME, name, `${name}: OTEL_SERVICE_NAME`);
    assert.equal(e.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318', `${name}: traces go to Jaeger's OTLP/HTTP receiver`);
    assert.equal(e.LISTEN_HOST, '0.0.0.0', `${name}: listens beyond the container's loopback`);
    assert.match(e.PERISCOPE_ROUTES ?? '', /^\//, `${name}: has routes, so the per-route panels have data`);
    const port = e.OTEL_EXPORTER_PROMETHEUS_PORT ?? '9464';
    assert.ok(listening(name).has(port), `${name}: metrics port ${port} is not exposed`);
    const job = prometheus.scrape_configs.find((j) => j.job_name === name);
    assert.ok(job, `no scrape job named ${name}`);
    assert.deepEqual(job.static_configs.flatMap((sc) => sc.targets), [`${name}:${port}`]);
    assert.equal(String(services[name].labels?.[labelKey]), labelValue, `${name}: lacks the label Alloy selects (${labelKey}=${labelValue})`);
  }
  // The frontend calls the backend by its service name.
  assert.equal(env('frontend').BACKEND_URL, 'http://backend:8080');
  // The app image installs the packed package, so `periscope-agent/register` resolves from /app/node_modules.
  const appDockerfile = dockerfile('frontend').path;
  assert.match(readFileSync(appDockerfile, 'utf8'), /npm install [^\n]*periscope-agent-\*\.tgz/);
});

test('starts each tool with the config files the other deploy tests check', () => {
  const expect = (svc, containerPath, repoPath) => {
    assert.ok(containerPath, `${svc}: no config path on its command line`);
    assert.equal(hostPath(svc, containerPath), join(DEPLOY, repoPath), `${svc}: ${containerPath} is not deploy/${repoPath}`);
  };
  expect('prometheus', flag('prometheus', '--config.file'), 'prometheus/prometheus.yml');
  const configDir = dirname(flag('prometheus', '--config.file'));
  for (const rules of prometheus.rule_files) expect('prometheus', resolve(configDir, rules), 'prometheus/rules.yml');
  assert.match(flag('prometheus', '--enable-feature') ?? '', /\bexemplar-storage\b/, 'Prometheus keeps exemplars');
  expect('alertmanager', flag('alertmanager', '--config.file'), 'alertmanager/alertmanager.yml');
  expect('loki', flag('loki', '-config.file'), 'loki/loki.yml');
  expect('alloy', asList(services.alloy.command).at(-1), 'alloy/config.alloy');
  expect('jaeger', flag('jaeger', '--config'), 'jaeger/config.yaml');
  expect('grafana', '/etc/grafana/provisioning/datasources/datasources.yml', 'grafana/provisioning/datasources/datasources.yml');
  expect('grafana', '/etc/grafana/provisioning/dashboards/periscope.yml', 'grafana/provisioning/dashboards/periscope.yml');
  for (const provider of yamlOf('grafana/provisioning/dashboards/periscope.yml').providers) {
    expect('grafana', provider.options.path, 'grafana/dashboards');
  }
  const home = hostPath('grafana', env('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
  assert.ok(home && statSync(home).isFile(), 'Grafana opens on a dashboard that exists');
});

test('Jaeger takes OTLP on 4318 from the other containers, and its pipeline names only defined components', () => {
  const jaeger = yamlOf('jaeger/config.yaml');
  assert.equal(jaeger.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
  assert.equal(jaeger.extensions.jaeger_query.http.endpoint, '0.0.0.0:16686');
  for (const kind of ['receivers', 'processors', 'exporters']) {
    for (const [pipeline, p] of Object.entries(jaeger.service.pipelines)) {
      for (const c of p[kind] ?? []) assert.ok(c in jaeger[kind], `pipeline ${pipeline}: ${kind} ${c} is not defined`);
    }
  }
  for (const e of jaeger.service.extensions) assert.ok(e in jaeger.extensions, `extension ${e} is not defined`);
  const backends = Object.keys(jaeger.extensions.jaeger_storage.backends);
  assert.ok(backends.includes(jaeger.exporters.jaeger_storage_exporter.trace_storage));
  assert.ok(backends.includes(jaeger.extensions.jaeger_query.storage.traces));
});

test('Loki keeps structured metadata, and the Alloy pipeline refers only to components it declares', () => {
  const loki = yamlOf('loki/loki.yml');
  assert.equal(loki.auth_enabled, false);
  assert.equal(loki.server.http_listen_port, 3100);
  assert.equal(loki.limits_config.allow_structured_metadata, true);
  const schema = loki.schema_config.configs.at(-1);
  assert.deepEqual([schema.store, schema.schema], ['tsdb', 'v13'], 'structured metadata needs tsdb and schema v13');

  const alloy = readDeploy('alloy/config.alloy').replace(/\/\/.*$/gm, '');
  const declared = new Set([...alloy.matchAll(/^([a-z_]+(?:\.[a-z_]+)+) "([\w-]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`));
  assert.ok(declared.has('loki.write.loki') && declared.has('loki.source.docker.services'), [...declared].join(', '));
  const used = [...alloy.matchAll(/= \[?((?:discovery|loki)\.[\w.]+)\.(targets|rules|receiver|output)\b/g)].map((m) => m[1]);
  assert.ok(used.length >= 4);
  for (const ref of used) assert.ok(declared.has(ref), `Alloy refers to ${ref}, which it does not declare`);
  assert.match(alloy, /stage\.structured_metadata \{[^}]*trace_id/, 'trace_id becomes structured metadata');
});
