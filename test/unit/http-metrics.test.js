import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpMetrics } from '../../dist/src/metrics/http-metrics.js';

const source = (over = {}) => ({ method: 'GET', scheme: 'http', protocolVersion: '1.1', route: '/a', status: 200, errorType: undefined, ...over });

function counts(metrics, name) {
  const family = metrics.collect().find((f) => f.name === name);
  const out = {};
  for (const s of family.samples.filter((x) => x.name.endsWith('_count'))) out[`${s.labels.http_route} ${s.labels.http_response_status_code}`] = s.value;
  return out;
}

test('consecutive requests that alternate between label sets are each counted in their own series', () => {
  const m = new HttpMetrics([0.1, 1], 100);
  const a = () => source();
  const b = () => source({ route: '/b', status: 500, errorType: '500' });
  // The series of the last label set is remembered; every change must be noticed.
  for (const make of [a, a, b, a, b, b, b]) {
    const s = make();
    m.serverStarted(s);
    m.serverFinished(s, 0.05, -1, 12);
  }
  // Same values in other string objects (httpVersion is a fresh string per request in Node).
  const c = source({ protocolVersion: ['1', '1'].join('.') });
  m.serverStarted(c);
  m.serverFinished(c, 0.05, -1, -1);
  assert.deepEqual(counts(m, 'http_server_request_duration_seconds'), { '/a 200': 4, '/b 500': 4 });
  assert.deepEqual(counts(m, 'http_server_response_body_size_bytes'), { '/a 200': 3, '/b 500': 4 });
  // No request had a known Content-Length: no request size series at all, not empty ones.
  assert.deepEqual(counts(m, 'http_server_request_body_size_bytes'), {});
  const active = m.collect().find((f) => f.name === 'http_server_active_requests').samples;
  assert.deepEqual(active.map((s) => s.value), [0]);
});

test('past the series cap, remembered label sets keep counting into the overflow series', () => {
  const m = new HttpMetrics([1], 1);
  for (const route of ['/a', '/b', '/b', '/c']) {
    const s = source({ route });
    m.serverStarted(s);
    m.serverFinished(s, 0.5, -1, -1);
  }
  const family = m.collect().find((f) => f.name === 'http_server_request_duration_seconds');
  const byRoute = Object.fromEntries(family.samples.filter((x) => x.name.endsWith('_count')).map((s) => [s.labels.http_route ?? 'overflow', s.value]));
  assert.deepEqual(byRoute, { '/a': 1, overflow: 3 });
  assert.equal(m.serverDuration.cap.overflowed, 3);
});

test('client calls that alternate between upstreams and outcomes are each counted in their own series', () => {
  const m = new HttpMetrics([0.1, 1], 100);
  const call = (over = {}) => ({ method: 'GET', serverAddress: 'api', serverPort: 80, status: 200, errorType: undefined, ...over });
  for (const c of [call(), call(), call({ serverPort: 8080 }), call(), call({ status: undefined, errorType: 'ECONNREFUSED' }), call()]) m.clientFinished(c, 0.01);
  const family = m.collect().find((f) => f.name === 'http_client_request_duration_seconds');
  const byLabels = Object.fromEntries(
    family.samples.filter((x) => x.name.endsWith('_count')).map((s) => [`${s.labels.server_port} ${s.labels.http_response_status_code ?? s.labels.error_type}`, s.value]),
  );
  assert.deepEqual(byLabels, { '80 200': 4, '8080 200': 1, '80 ECONNREFUSED': 1 });
});
