// What the framework suite (test/frameworks/) shares: which fixture folders are installed, the
// requests every fixture app answers and what each must give, and `describeFixture`, which starts
// one app twice (without and with the preload), sends both the same requests and checks the
// responses, spans and metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT, TEST_NODE, killAll, runFixture, waitForPort } from './spawn.js';
import { attrs, startReceiver } from './otlp-receiver.js';
import { parseExposition, scrape, sum, waitForMetricsPort } from './metrics.js';

export const FRAMEWORKS = join(ROOT, 'fixtures', 'frameworks');

/** Why fixtures/frameworks/<folder> cannot be used here, or undefined once `npm ci` installed it. */
export function notInstalled(folder) {
  if (existsSync(join(FRAMEWORKS, folder, 'node_modules', '.package-lock.json'))) return undefined;
  return `fixtures/frameworks/${folder} is not installed (npm ci --prefix fixtures/frameworks/${folder}; npm run test:all does it)`;
}

/** The version of the Node the fixture apps run on, e.g. [24, 21, 0]. */
export const CHILD_NODE = spawnSync(TEST_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim().slice(1).split('.').map(Number);

/** The route surface of every fixture app (fixtures/frameworks/shared/*) and what each request gives. */
export const REQUESTS = [
  { method: 'GET', path: '/', status: 200, route: '/' },
  { method: 'GET', path: '/api/users', status: 200, route: '/api/users' },
  { method: 'GET', path: '/api/users/42', status: 200, route: '/api/users/:id' },
  { method: 'GET', path: '/admin/stats/cpu', status: 200, route: '/admin/stats/:metric' },
  { method: 'GET', path: '/nope', status: 404 },
  { method: 'POST', path: '/api/users/42', status: 404 },
  { method: 'GET', path: '/boom', status: 500, route: '/boom', error: 'Error', message: 'boom' },
  { method: 'GET', path: '/boom-async', status: 500, route: '/boom-async', error: 'TypeError', message: 'async boom' },
  { method: 'GET', path: '/api/fail', status: 500, route: '/api/fail', error: 'RangeError', message: 'api fail' },
];

/** Express only: a router mounted under a path with a parameter; a middleware under /static answers without a route. */
export const EXPRESS_REQUESTS = [
  ...REQUESTS,
  { method: 'GET', path: '/orgs/acme/repos/web', status: 200, route: '/orgs/:org/repos/:repo' },
  { method: 'GET', path: '/static/a.txt', status: 200 },
];

/** One request on its own connection; the response as it came over the wire, Date normalised. */
export function exchange(port, { method, path }) {
  return new Promise((resolve, reject) => {
    const headers = method === 'GET' ? {} : { 'content-length': '0' };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = res.rawHeaders.map((v, i) => (i % 2 === 1 && /^date$/i.test(res.rawHeaders[i - 1]) ? '<date>' : v));
        resolve({ status: res.statusCode, message: res.statusMessage, headers: raw, body: Buffer.concat(chunks).toString('latin1') });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function answers(proc, requests) {
  const port = await waitForPort(proc, 20_000);
  const out = [];
  for (const r of requests) out.push(await exchange(port, r));
  return out;
}

let serial = 0;

/**
 * The checks every fixture app gets, as one describe block. `file` is relative to the repo root;
 * `nodeArgs` go into NODE_OPTIONS (e.g. another loader); `skip` is a reason to skip, printed.
 */
export function describeFixture(title, { file, args = [], cwd = ROOT, nodeArgs = '', requests = REQUESTS, skip }) {
  describe(title, { skip }, () => {
    let receiver;
    let traced;
    let plain;
    let tracedAnswers;
    let plainAnswers;
    let metricsPort;
    const service = `fixture-${process.pid}-${++serial}`;

    before(async () => {
      receiver = await startReceiver();
      const common = { NODE_ENV: 'production', ...(nodeArgs ? { NODE_OPTIONS: nodeArgs } : {}) };
      plain = runFixture(file, { args, cwd, preload: false, env: common });
      traced = runFixture(file, {
        args,
        cwd,
        env: {
          ...common,
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_BSP_SCHEDULE_DELAY: '50',
          OTEL_LOG_LEVEL: 'debug',
        },
      });
      [plainAnswers, tracedAnswers] = await Promise.all([answers(plain, requests), answers(traced, requests)]);
      metricsPort = await waitForMetricsPort(traced);
    });
    after(async () => {
      await killAll();
      await receiver?.close();
    });

    test('answers every request byte-identically with and without the preload', () => {
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i];
        assert.equal(tracedAnswers[i].status, r.status, `${r.method} ${r.path}: status`);
        assert.deepEqual(tracedAnswers[i], plainAnswers[i], `${r.method} ${r.path}: status, headers and body`);
      }
    });

    test('names each server span after its route template and gives 404s no route', async () => {
      const spans = await serverSpans(receiver, service, requests.length);
      for (const r of requests) {
        const span = spanOf(spans, r);
        const a = attrs(span);
        assert.equal(a['http.response.status_code'], r.status, `${r.method} ${r.path}: status`);
        assert.equal(a['http.route'], r.route, `${r.method} ${r.path}: http.route`);
        assert.equal(span.name, r.route === undefined ? r.method : `${r.method} ${r.route}`, `${r.method} ${r.path}: span name`);
      }
    });

    test('records each handler exception on its span with error.type, sync and async', async () => {
      const spans = await serverSpans(receiver, service, requests.length);
      for (const r of requests) {
        const span = spanOf(spans, r);
        const events = span.events.filter((e) => e.name === 'exception');
        if (r.error === undefined) {
          assert.equal(events.length, 0, `${r.method} ${r.path}: no exception event`);
          continue;
        }
        assert.equal(events.length, 1, `${r.method} ${r.path}: one exception event`);
        assert.equal(attrs(events[0])['exception.type'], r.error);
        assert.equal(attrs(events[0])['exception.message'], r.message);
        assert.equal(attrs(span)['error.type'], r.error, `${r.method} ${r.path}: error.type`);
        assert.equal(span.status.code, 2, `${r.method} ${r.path}: span status ERROR`);
      }
    });

    test('labels the duration metric with http_route, never with a raw path', async () => {
      const samples = parseExposition((await scrape(metricsPort)).body);
      const count = 'http_server_request_duration_seconds_count';
      for (const r of requests.filter((x) => x.route !== undefined)) {
        const match = { http_request_method: r.method, http_route: r.route, http_response_status_code: String(r.status) };
        assert.equal(sum(samples, count, match), 1, `${r.method} ${r.route}`);
      }
      const unrouted = requests.filter((x) => x.route === undefined).length;
      assert.equal(sum(samples, count, { http_route: undefined }), unrouted, 'unmatched requests carry no http_route');
      const routes = new Set(requests.map((x) => x.route));
      for (const s of samples.filter((x) => x.name.startsWith('http_server_') && 'http_route' in x.labels)) {
        assert.ok(routes.has(s.labels.http_route), `unexpected http_route ${s.labels.http_route}`);
      }
    });

    test('leaves no internal error and no unsupported-version note on stderr', () => {
      assert.doesNotMatch(traced.stderr(), /PERISCOPE_W005|outside what periscope instruments/);
    });
  });
}

async function serverSpans(receiver, service, n) {
  const mine = (all) => all.filter((s) => s.kind === 2 && s.resource['service.name'] === service);
  return mine(await receiver.waitForSpans((all) => mine(all).length >= n));
}

function spanOf(spans, r) {
  const found = spans.filter((s) => attrs(s)['url.path'] === r.path && attrs(s)['http.request.method'] === r.method);
  assert.equal(found.length, 1, `one server span for ${r.method} ${r.path}`);
  return found[0];
}
