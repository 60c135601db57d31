// needs: promtool amtool
// The real tools on the real files: Debian's promtool (Prometheus 2.42) and amtool (Alertmanager 0.25), the
// oldest versions the kit is written for. `npm run test:all` installs them; `npm test` names this file as
// skipped without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEPLOY, yamlOf } from '../helpers/deploy.js';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: DEPLOY, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const AM_CONFIG = `--config.file=${join('alertmanager', 'alertmanager.yml')}`;

test('promtool accepts the Prometheus config of the compose stack and the rules it loads', () => {
  const config = run('promtool', ['check', 'config', 'prometheus/prometheus.yml']);
  assert.equal(config.status, 0, config.out);
  assert.match(config.out, /SUCCESS: 1 rule files found/);
  const rules = run('promtool', ['check', 'rules', 'prometheus/rules.yml']);
  assert.equal(rules.status, 0, rules.out);
  const count = yamlOf('prometheus/rules.yml').groups.reduce((n, g) => n + g.rules.length, 0);
  assert.match(rules.out, new RegExp(`SUCCESS: ${count} rules found`));
});

test('promtool runs the rule unit tests, and every alert fires when, and only when, they say', () => {
  const r = run('promtool', ['test', 'rules', 'prometheus/rules.test.yml']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('amtool accepts the Alertmanager config', () => {
  const r = run('amtool', ['check-config', 'alertmanager/alertmanager.yml']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
  assert.match(r.out, /2 receivers/);
});

test('amtool routes page alerts to the page receiver and everything else to default', () => {
  for (const [labels, receiver] of [
    [['alertname=PeriscopeTargetDown', 'severity=page', 'job=backend'], 'page'],
    [['alertname=PeriscopeHighLatencyP99', 'severity=warning', 'job=frontend'], 'default'],
    [['alertname=SomethingElse'], 'default'],
  ]) {
    const r = run('amtool', ['config', 'routes', 'test', AM_CONFIG, `--verify.receivers=${receiver}`, ...labels]);
    assert.equal(r.status, 0, `${labels.join(' ')}: ${r.out}`);
  }
});
