// deploy/prometheus/rules.yml and deploy/alertmanager/alertmanager.yml read as data: what promtool and amtool
// accept but an on-call engineer would still trip over. Needs nothing beyond npm ci; promtool.test.js runs the
// real tools on the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/spawn.js';
import { headingAnchors, readDeploy, yamlOf } from '../helpers/deploy.js';

const rules = yamlOf('prometheus/rules.yml');
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert));
const records = rules.groups.flatMap((g) => g.rules.filter((r) => r.record));
const unitTests = yamlOf('prometheus/rules.test.yml');
const alertmanager = yamlOf('alertmanager/alertmanager.yml');

test('has the recording rules the issue asks for: rate, error ratio and p50/p95/p99 per service and route', () => {
  const names = records.map((r) => r.record);
  for (const name of [
    'job_route:http_server_requests:rate5m',
    'job_route:http_server_error_ratio:rate5m',
    'job_route:http_server_request_duration_seconds:p50_5m',
    'job_route:http_server_request_duration_seconds:p95_5m',
    'job_route:http_server_request_duration_seconds:p99_5m',
    'job:http_server_requests:rate5m',
    'job:http_server_error_ratio:rate5m',
  ]) {
    assert.ok(names.includes(name), `missing ${name}`);
  }
});

test('every alert has a severity, a summary, a description and a runbook link to a section of docs/deploy.md', () => {
  assert.deepEqual(alerts.map((a) => a.alert).sort(), ['PeriscopeDroppingSpans', 'PeriscopeHigh5xxRatio', 'PeriscopeHighLatencyP99', 'PeriscopeTargetDown']);
  const anchors = headingAnchors(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8'));
  for (const a of alerts) {
    assert.match(a.labels?.severity ?? '', /^(page|warning)$/, `${a.alert}: severity`);
    assert.ok(a.annotations.summary?.length > 10, `${a.alert}: summary`);
    assert.ok(a.annotations.description?.length > 40, `${a.alert}: description`);
    assert.ok(a.for, `${a.alert}: fires only after a "for" period, not on one bad evaluation`);
    const [path, anchor] = a.annotations.runbook_url.split('#');
    assert.equal(path, 'docs/deploy.md', `${a.alert}: runbook_url`);
    assert.ok(anchors.has(anchor), `${a.alert}: docs/deploy.md has no section #${anchor}`);
  }
});

test('the dashboard panels that alert descriptions send people to exist', () => {
  const titles = JSON.parse(readDeploy('grafana/dashboards/periscope-node.json')).panels.map((p) => p.title);
  const named = alerts.flatMap((a) => [...a.annotations.description.matchAll(/"([A-Za-z0-9][\w -]*)"/g)].map((m) => m[1]));
  assert.ok(named.length >= 2);
  for (const name of named) assert.ok(titles.some((t) => t.startsWith(name)), `no panel "${name}"`);
});

test('the unit tests show every alert both firing and staying silent', () => {
  const cases = unitTests.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert);
    assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${a.alert}: no test where it fires`);
    assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${a.alert}: no test where it stays silent`);
  }
  assert.deepEqual(unitTests.rule_files, ['rules.yml']);
});

test('Alertmanager routes only to receivers it defines, and inhibits only alerts that exist', () => {
  const receivers = new Set(alertmanager.receivers.map((r) => r.name));
  const walk = (route) => {
    if (route.receiver) assert.ok(receivers.has(route.receiver), `unknown receiver ${route.receiver}`);
    for (const r of route.routes ?? []) walk(r);
  };
  walk(alertmanager.route);
  const severities = new Set(alerts.map((a) => a.labels.severity));
  for (const r of alertmanager.route.routes) {
    for (const m of r.matchers) {
      const [, value] = /^severity="(\w+)"$/.exec(m) ?? [];
      if (value) assert.ok(severities.has(value), `route on severity ${value}, which no alert has`);
    }
  }
  const names = alerts.map((a) => a.alert);
  for (const rule of alertmanager.inhibit_rules) {
    for (const m of [...rule.source_matchers, ...rule.target_matchers]) {
      const [, op, pattern] = /^alertname(=~|=)"(.+)"$/.exec(m) ?? [];
      if (!op) continue;
      const re = new RegExp(`^(?:${op === '=' ? pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : pattern})$`);
      assert.ok(names.some((n) => re.test(n)), `inhibit matcher ${m} matches no alert`);
    }
  }
});
