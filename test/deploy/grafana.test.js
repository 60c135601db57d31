// deploy/grafana: the provisioned data sources and the links between them, and the dashboard's shape. Needs
// nothing beyond npm ci; that every panel's PromQL returns data from a real Prometheus is dashboard.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parser as logql } from '@grafana/lezer-logql';
import { DEPLOY, readDeploy, yamlOf } from '../helpers/deploy.js';

const datasources = yamlOf('grafana/provisioning/datasources/datasources.yml').datasources;
const byType = Object.fromEntries(datasources.map((d) => [d.type, d]));
const uids = new Set(datasources.map((d) => d.uid));
const dashboard = JSON.parse(readDeploy('grafana/dashboards/periscope-node.json'));
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => p.targets.map((t) => ({ panel: p, ...t })));
const variables = new Set(dashboard.templating.list.map((v) => v.name));
// Variables Grafana itself provides.
const BUILT_IN = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms']);

function strings(value, out = []) {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

test('provisions Prometheus, Jaeger, Loki and Alertmanager with unique uids', () => {
  assert.deepEqual(Object.keys(byType).sort(), ['alertmanager', 'jaeger', 'loki', 'prometheus']);
  assert.equal(uids.size, datasources.length);
  assert.equal(datasources.filter((d) => d.isDefault).map((d) => d.type).join(), 'prometheus');
});

test('links exemplars to traces, logs to traces, and traces to logs and metrics, by uids that exist', () => {
  const prom = byType.prometheus.jsonData;
  const exemplarLinks = prom.exemplarTraceIdDestinations;
  assert.ok(exemplarLinks.every((d) => d.name === 'trace_id'), 'periscope names the exemplar label trace_id');
  assert.equal(exemplarLinks.find((d) => d.datasourceUid)?.datasourceUid, byType.jaeger.uid);
  // The second exemplar link opens this dashboard on the exemplar's trace, which filters the logs panel.
  const toLogs = exemplarLinks.find((d) => d.url);
  assert.match(toLogs.url, new RegExp(`^/d/${dashboard.uid}/.*[?&]var-trace_id=\\$\\$\\{__value\\.raw\\}`));
  assert.ok(variables.has('trace_id'));

  const jaeger = byType.jaeger.jsonData;
  assert.equal(jaeger.tracesToLogsV2.datasourceUid, byType.loki.uid);
  assert.equal(jaeger.tracesToLogsV2.filterByTraceID, true);
  assert.deepEqual(jaeger.tracesToLogsV2.tags, [{ key: 'service.name', value: 'service_name' }], 'span service -> Loki service_name label');
  assert.equal(jaeger.tracesToMetrics.datasourceUid, byType.prometheus.uid);
  assert.deepEqual(jaeger.tracesToMetrics.tags, [{ key: 'service.name', value: 'job' }], 'span service -> Prometheus job');

  const [derived] = byType.loki.jsonData.derivedFields;
  assert.equal(derived.datasourceUid, byType.jaeger.uid);
  // The regex Grafana runs on each line finds the id in a pino line and in an access-log line.
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  const regex = new RegExp(derived.matcherRegex);
  assert.equal(regex.exec(`{"level":30,"time":1,"trace_id":"${id}","span_id":"00f067aa0ba902b7","msg":"hi"}`)?.[1], id);
  assert.equal(regex.exec(`{"method":"GET","status":200, "trace_id": "${id}"}`)?.[1], id);
});

test('escapes every literal $ in provisioning files, which Grafana would otherwise expand from its environment', () => {
  const dir = join(DEPLOY, 'grafana', 'provisioning');
  for (const sub of readdirSync(dir)) {
    for (const file of readdirSync(join(dir, sub))) {
      for (const s of strings(yamlOf(`grafana/provisioning/${sub}/${file}`))) {
        assert.doesNotMatch(s.replace(/\$\$/g, ''), /\$/, `${sub}/${file}: unescaped $ in ${s}`);
      }
    }
  }
});

test('every panel queries a provisioned data source and uses only defined variables', () => {
  for (const p of panels) {
    assert.ok(uids.has(p.datasource.uid), `${p.title}: data source ${p.datasource.uid}`);
    for (const t of p.targets) assert.equal(t.datasource.uid, p.datasource.uid, `${p.title} ${t.refId}`);
  }
  for (const v of dashboard.templating.list) if (v.datasource) assert.ok(uids.has(v.datasource.uid), `variable ${v.name}`);
  for (const s of [...targets.map((t) => t.expr), ...dashboard.templating.list.map((v) => v.definition ?? '')]) {
    for (const [, name] of s.matchAll(/\$\{?(\w+)/g)) assert.ok(variables.has(name) || BUILT_IN.has(name), `$${name} in ${s}`);
  }
  assert.deepEqual(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
});

test('has RED per route, a latency heatmap with exemplars, client latency by peer, runtime and logs panels', () => {
  const find = (what, pred) => {
    const hit = targets.find(pred);
    assert.ok(hit, `no panel for ${what}`);
    return hit;
  };
  const perRoute = (t) => /by \([^)]*http_route/.test(t.expr) && /http_route=~"\$route"/.test(t.expr);
  find('request rate per route', (t) => perRoute(t) && /rate\(http_server_request_duration_seconds_count/.test(t.expr) && !/5\.\./.test(t.expr));
  find('error ratio per route', (t) => perRoute(t) && /http_response_status_code=~"5\.\."/.test(t.expr));
  for (const q of ['0.50', '0.95', '0.99']) find(`p${q.slice(2)} per route`, (t) => perRoute(t) && t.expr.startsWith(`histogram_quantile(${q},`));
  const heat = find('latency heatmap', (t) => t.panel.type === 'heatmap');
  assert.equal(heat.format, 'heatmap');
  assert.equal(heat.exemplar, true);
  assert.match(heat.expr, /http_server_request_duration_seconds_bucket/);
  find('client latency by peer', (t) => /http_client_request_duration_seconds_bucket/.test(t.expr) && /by \([^)]*server_address/.test(t.expr));
  for (const m of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds_sum']) find(m, (t) => t.expr.includes(m));
  const logs = find('logs', (t) => t.panel.type === 'logs');
  assert.equal(logs.panel.datasource.uid, byType.loki.uid);
  assert.match(logs.expr, /\$trace_id/, 'the logs panel follows the selected trace');
  assert.match(logs.expr, /service_name=~"\$service"/, 'and the selected services');
});

test('the logs panel is valid LogQL', () => {
  for (const t of targets.filter((x) => x.panel.datasource.uid === byType.loki.uid)) {
    let error;
    logql.parse(t.expr).iterate({
      enter: (node) => {
        if (node.type.isError) error ??= node.from;
      },
    });
    assert.equal(error, undefined, `${t.panel.title}: LogQL syntax error at ${error}: ${t.expr}`);
  }
});
