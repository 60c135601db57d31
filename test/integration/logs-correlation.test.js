// pino, winston and bunyan under the preload, CommonJS and ESM: records logged inside a server
// span carry that span's ids, records logged outside are byte-identical to a run without
// periscope, and each logger's own features (mixins, formats, redaction, child loggers, levels,
// serializers, raw streams) work as before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { killAll, runFixture } from '../helpers/spawn.js';
import { startReceiver } from '../helpers/otlp-receiver.js';
import { batch, normalize, records, runLogApp, withoutIds } from '../helpers/log-lines.js';

const SERVER = 2;

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
});

// What each logger's own features must still produce, checked on the run with periscope.
const FEATURES = {
  pino(recs) {
    const charged = recs.find((r) => r.msg === 'charged');
    assert.equal(charged.card.number, '[Redacted]', 'redaction');
    assert.equal(charged.module, 'billing', 'child bindings');
    assert.equal(charged.level, 'warn', 'level formatter');
    assert.equal(charged.app, 'shop', "the app's mixin");
    assert.equal(recs.find((r) => r.msg === 'hello world').user, 'ada', 'merge object and format args');
    assert.equal(recs.find((r) => r.msg === 'failed').err.message, 'boom', 'err serializer');
    assert.equal(recs.find((r) => r.msg === 'from a logger without options').level, 30);
  },
  winston(recs, lines) {
    const charged = recs.find((r) => r.message === 'charged');
    assert.equal(charged.card.number, '[Redacted]', 'custom redacting format');
    assert.equal(charged.module, 'billing', 'child metadata');
    assert.equal(charged.app, 'shop', 'defaultMeta');
    assert.equal(recs.find((r) => r.message === 'hello world').user, 'ada', 'splat');
    assert.ok(recs.every((r) => typeof r.timestamp === 'string'), 'timestamp format');
    assert.equal(lines.filter((l) => l.startsWith('PRINTF info plain text')).length, 1, 'printf');
  },
  bunyan(recs, lines) {
    const charged = recs.find((r) => r.msg === 'charged');
    assert.equal(charged.card.number, '[Redacted]', 'serializer');
    assert.equal(charged.module, 'billing', 'child fields');
    assert.equal(recs.find((r) => r.msg === 'failed').err.message, 'boom', 'err serializer');
    assert.equal(recs.find((r) => r.msg === 'hello world').user, 'ada');
    assert.deepEqual(lines.filter((l) => l.startsWith('RAW ')).map((l) => l.split(' ')[1]), ['charged', 'failed'], 'raw stream at warn');
  },
};

const FIXTURES = ['pino.cjs', 'pino.mjs', 'winston.cjs', 'winston.mjs', 'bunyan.cjs', 'bunyan.mjs'];

for (const file of FIXTURES) {
  const logger = file.split('.')[0];
  describe(`${logger} (${file.endsWith('.mjs') ? 'ESM import' : 'CommonJS require'})`, () => {
    const service = `logs-${file.replace('.', '-')}`;
    let withAgent;
    let without;
    let span;
    before(async () => {
      const env = { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' };
      [withAgent, without] = await Promise.all([
        runLogApp(`fixtures/logs/${file}`, { env }),
        runLogApp(`fixtures/logs/${file}`, { preload: false }),
      ]);
      const spans = await receiver.waitForSpans((all) => all.some((s) => s.resource['service.name'] === service && s.kind === SERVER));
      span = spans.find((s) => s.resource['service.name'] === service && s.kind === SERVER);
    });

    test("puts the server span's trace_id, span_id and trace_flags on every record logged inside it", () => {
      const inside = batch(withAgent.stdout, 'inside');
      const own = records(inside).filter((r) => r.trace_id !== 'mine');
      assert.ok(own.length >= 3, withAgent.stdout);
      for (const r of own) {
        assert.equal(r.trace_id, span.traceId);
        assert.equal(r.span_id, span.spanId);
        assert.equal(r.trace_flags, (span.flags & 0xff).toString(16).padStart(2, '0'));
      }
      for (const l of inside.filter((x) => !x.startsWith('{'))) assert.ok(l.includes(`trace=${span.traceId}`), l);
    });

    test('leaves a record that carries its own trace_id as the app made it', () => {
      const mine = records(batch(withAgent.stdout, 'inside')).find((r) => r.trace_id === 'mine');
      assert.ok(mine);
      assert.equal(mine.span_id, undefined);
      assert.equal(mine.trace_flags, undefined);
    });

    test('writes records logged outside a span byte for byte as without periscope', () => {
      const outside = batch(withAgent.stdout, 'outside').map(normalize);
      assert.ok(outside.length >= 4);
      assert.deepEqual(outside, batch(without.stdout, 'outside').map(normalize));
    });

    test('changes records logged inside a span by the three keys only', () => {
      const inside = batch(withAgent.stdout, 'inside').map((l) => normalize(withoutIds(l)));
      assert.deepEqual(inside, batch(without.stdout, 'inside').map((l) => normalize(withoutIds(l))));
    });

    test("keeps the logger's own features working", () => {
      const inside = batch(withAgent.stdout, 'inside');
      FEATURES[logger](records(inside), inside);
      assert.doesNotMatch(withAgent.stdout, /filtered out by the level/);
      assert.equal(withAgent.stderr, '', 'periscope says nothing');
    });
  });
}

test('adds nothing when the logger is named in OTEL_NODE_DISABLED_INSTRUMENTATIONS', async () => {
  const { stdout } = await runLogApp('fixtures/logs/pino.cjs', {
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pino' },
  });
  assert.ok(batch(stdout, 'inside').length >= 4);
  assert.doesNotMatch(stdout, /span_id/);
});

test("puts the app's own API span's ids once on records from pino both imported and required", async () => {
  const service = 'logs-pino-mixed';
  const app = runFixture('fixtures/logs/pino-mixed.mjs', {
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRICS_EXPORTER: 'none' },
  });
  assert.equal((await app.exited).code, 0, app.stderr());
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.resource['service.name'] === service));
  const span = spans.find((s) => s.resource['service.name'] === service && s.name === 'work');
  const ids = { trace_id: span.traceId, span_id: span.spanId, trace_flags: (span.flags & 0xff).toString(16).padStart(2, '0') };
  assert.deepEqual(records(app.stdout().split('\n')), [
    { level: 30, ...ids, msg: 'from import' },
    { level: 30, ...ids, msg: 'from require' },
    { level: 30, part: 'child', ...ids, msg: 'from a child' },
    { level: 30, msg: 'after the span' },
  ]);
});
