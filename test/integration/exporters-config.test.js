// Exporter and resource settings from the environment, checked at what a collector (or stderr) gets.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const APP = 'fixtures/styles/cjs.cjs';

// One receiver per test, so headers and encodings seen there belong to that test's child alone.
const receivers = [];
async function receiver() {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}
after(async () => {
  await killAll();
  await Promise.all(receivers.map((r) => r.close()));
});

// No metrics endpoint: the default one listens on 0.0.0.0:9464, which parallel fixtures would fight over.
const baseEnv = { OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRICS_EXPORTER: 'none' };

/** Starts `file` with `env`, sends GET /hello, returns the app. */
async function runAndHello(env, file = APP) {
  const app = runFixture(file, { env: { ...baseEnv, ...env } });
  const port = await waitForPort(app);
  assert.equal((await httpGet(`http://127.0.0.1:${port}/hello`)).body, 'hello');
  return app;
}

const traceLines = (text) => text.split('\n').filter((l) => /^trace [0-9a-f]{8} \([0-9a-f]{32}\)$/.test(l));

describe('exporters', () => {
  test('OTEL_TRACES_EXPORTER=zipkin delivers Zipkin v2 JSON to OTEL_EXPORTER_ZIPKIN_ENDPOINT', async () => {
    const r = await receiver();
    await runAndHello({
      OTEL_SERVICE_NAME: 'exp-zipkin',
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${r.url}/api/v2/spans`,
      OTEL_EXPORTER_OTLP_ENDPOINT: r.url, // must stay unused
    });
    const [span] = await r.waitForZipkinSpans(1);
    assert.equal(span.kind, 'SERVER');
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.id, /^[0-9a-f]{16}$/);
    assert.equal(span.localEndpoint.serviceName, 'exp-zipkin');
    assert.equal(span.tags['url.path'], '/hello');
    assert.equal(span.tags['http.response.status_code'], '200');
    assert.ok(r.requests.every((q) => q.path === '/api/v2/spans' && q.contentType === 'application/json'));
    assert.deepEqual(r.spans(), []);
  });

  test('OTEL_TRACES_EXPORTER=console prints a span tree on stderr and nothing on stdout or the network', async () => {
    const r = await receiver();
    const app = await runAndHello({ OTEL_SERVICE_NAME: 'exp-console', OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
    const deadline = Date.now() + 10_000;
    while (traceLines(app.stderr()).length === 0 && Date.now() < deadline) await delay(20);
    assert.equal(traceLines(app.stderr()).length, 1, app.stderr());
    assert.match(app.stderr(), /^ {2}GET {2}SERVER {2}\S+ms {2}UNSET {2}http\.request\.method=GET {2}url\.path=\/hello {2}http\.response\.status_code=200 {2}span=[0-9a-f]{16}$/m);
    assert.match(app.stdout(), /^listening \d+\n$/);
    assert.deepEqual(r.requests, []);
  });

  test('OTEL_TRACES_EXPORTER=otlp,console does both', async () => {
    const r = await receiver();
    const app = await runAndHello({ OTEL_SERVICE_NAME: 'exp-both', OTEL_TRACES_EXPORTER: 'otlp,console', OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
    const [span] = await r.waitForSpans(1);
    assert.equal(span.kind, SERVER);
    const deadline = Date.now() + 10_000;
    while (traceLines(app.stderr()).length === 0 && Date.now() < deadline) await delay(20);
    assert.ok(app.stderr().includes(`trace ${span.traceId.slice(0, 8)} (${span.traceId})`), app.stderr());
    assert.match(app.stdout(), /^listening \d+\n$/);
  });

  test('OTEL_EXPORTER_OTLP_COMPRESSION=gzip sends gzip bodies that decode to the spans', async () => {
    const r = await receiver();
    await runAndHello({ OTEL_SERVICE_NAME: 'exp-gzip', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
    const [span] = await r.waitForSpans(1);
    assert.equal(attrs(span)['url.path'], '/hello');
    const posts = r.requests.filter((q) => q.path === '/v1/traces');
    assert.ok(posts.length > 0);
    for (const q of posts) {
      assert.equal(q.headers['content-encoding'], 'gzip');
      assert.equal(q.error, undefined);
    }
  });

  test('OTEL_EXPORTER_OTLP_HEADERS values are percent-decoded into request headers', async () => {
    const r = await receiver();
    await runAndHello({ OTEL_SERVICE_NAME: 'exp-headers', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20value,x-tenant=acme' });
    await r.waitForSpans(1);
    const [post] = r.requests.filter((q) => q.path === '/v1/traces');
    assert.equal(post.headers['x-api-key'], 'secret value');
    assert.equal(post.headers['x-tenant'], 'acme');
  });

  test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as given and wins over OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const r = await receiver();
    const elsewhere = await receiver();
    await runAndHello({
      OTEL_SERVICE_NAME: 'exp-traces-endpoint',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_ENDPOINT: elsewhere.url,
    });
    await r.waitForSpans(1);
    assert.deepEqual([...new Set(r.requests.map((q) => q.path))], ['/v1/traces']);
    assert.deepEqual(elsewhere.requests, []);
  });
});

describe('resource', () => {
  const RESOURCE_APP = 'fixtures/resource/app.cjs';

  async function resourceOf(env) {
    const r = await receiver();
    const app = await runAndHello({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, ...env }, RESOURCE_APP);
    const [span] = await r.waitForSpans(1);
    return { resource: span.resource, pid: app.child.pid };
  }

  test('takes service.name and service.version from the package.json nearest the entry script', async () => {
    const { resource } = await resourceOf({});
    assert.equal(resource['service.name'], 'resource-fixture');
    assert.equal(resource['service.version'], '3.1.4');
  });

  test('service.name in OTEL_RESOURCE_ATTRIBUTES beats package.json', async () => {
    const { resource } = await resourceOf({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' });
    assert.equal(resource['service.name'], 'from-attributes');
  });

  test('OTEL_SERVICE_NAME beats both', async () => {
    const { resource } = await resourceOf({ OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' });
    assert.equal(resource['service.name'], 'from-env');
  });

  test('carries OTEL_RESOURCE_ATTRIBUTES, the Kubernetes variables and the detected process, host and SDK', async () => {
    const { resource, pid } = await resourceOf({
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,team=web%20platform',
      K8S_POD_NAME: 'shop-7d9f-abcde',
      K8S_NAMESPACE_NAME: 'shop',
      K8S_NODE_NAME: 'node-3',
    });
    assert.equal(resource['deployment.environment.name'], 'staging');
    assert.equal(resource.team, 'web platform');
    assert.equal(resource['k8s.pod.name'], 'shop-7d9f-abcde');
    assert.equal(resource['k8s.namespace.name'], 'shop');
    assert.equal(resource['k8s.node.name'], 'node-3');
    assert.equal(resource['process.pid'], pid);
    assert.equal(resource['host.name'], hostname());
    assert.match(resource['service.instance.id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(resource['telemetry.sdk.name'], 'periscope');
    assert.equal(resource['telemetry.sdk.language'], 'nodejs');
    assert.match(resource['telemetry.sdk.version'], /^\d+\.\d+\.\d+/);
  });
});
