// The pure parts of log correlation: ids and flags, the console suffix, the access log line, the
// thread-stream worker test, the config, and pino's mixin merge rules (in-process, with a span
// context made active by hand and pino writing to memory).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { activeLogIds, addLogIds, flagsHex, hasLogIds } from '../../dist/src/instrumentations/logs/correlation.js';
import { formatSpecifiers, withSuffix } from '../../dist/src/instrumentations/logs/console.js';
import { accessLine, clientAddress } from '../../dist/src/instrumentations/logs/access-log.js';
import { LineWriter } from '../../dist/src/instrumentations/logs/destination.js';
import { pinoInstrumentation } from '../../dist/src/instrumentations/logs/pino.js';
import { isThreadStreamWorker } from '../../dist/src/process-guard.js';
import { storage } from '../../dist/src/telemetry/context.js';
import { instrumentationEnabled, loadConfig } from '../../dist/src/config.js';

const require = createRequire(import.meta.url);
const SC = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 3, isRemote: false };
const inSpan = (fn) => storage.run(trace.setSpanContext(ROOT_CONTEXT, SC), fn);
const IDS = { trace_id: SC.traceId, span_id: SC.spanId, trace_flags: '03' };

describe('correlation ids', () => {
  it('are undefined outside a span and for an invalid span context', () => {
    assert.equal(activeLogIds(), undefined);
    const invalid = trace.setSpanContext(ROOT_CONTEXT, { ...SC, traceId: '0'.repeat(32) });
    assert.equal(storage.run(invalid, activeLogIds), undefined);
  });

  it('name the active span with trace_flags as two hex digits', () => {
    assert.deepEqual(inSpan(activeLogIds), IDS);
    assert.deepEqual([flagsHex(0), flagsHex(1), flagsHex(3), flagsHex(0x1ff)], ['00', '01', '03', 'ff']);
  });

  it('are added only to a record that has none of the three keys', () => {
    const plain = { msg: 'x' };
    inSpan(() => addLogIds(plain));
    assert.deepEqual(plain, { msg: 'x', ...IDS });
    const own = { span_id: 'mine' };
    inSpan(() => addLogIds(own));
    assert.deepEqual(own, { span_id: 'mine' });
    assert.equal(hasLogIds({ trace_flags: '01' }), true);
    assert.equal(hasLogIds(null), false);
    assert.doesNotThrow(() => inSpan(() => addLogIds(Object.freeze({ msg: 'frozen' }))));
  });
});

describe('pino mixin', () => {
  const pino = pinoInstrumentation.patch(require('pino'), 'pino', undefined);
  function logger(options = {}) {
    const lines = [];
    const dest = new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(chunk)), cb()) });
    return { log: pino({ base: null, timestamp: false, ...options }, dest), lines };
  }

  it('keeps pino.default, pino.pino and the helpers on the wrapped factory', () => {
    assert.equal(pino.default, pino);
    assert.equal(pino.pino, pino);
    assert.equal(typeof pino.destination, 'function');
    assert.equal(typeof pino.stdTimeFunctions.isoTime, 'function');
    assert.equal(pinoInstrumentation.patch(pino, 'pino', undefined), pino, 'wrapping twice is a no-op');
  });

  it("adds the ids first, lets the app's mixin and then the call site win", () => {
    const { log, lines } = logger({ mixin: () => ({ app: 'shop' }) });
    log.info('outside');
    inSpan(() => log.info({ user: 'ada' }, 'inside'));
    assert.deepEqual(lines, [
      { level: 30, app: 'shop', msg: 'outside' },
      { level: 30, ...IDS, app: 'shop', user: 'ada', msg: 'inside' },
    ]);
    assert.deepEqual(Object.keys(lines[1]).slice(1, 4), ['trace_id', 'span_id', 'trace_flags']);
  });

  it('leaves alone a record whose call site or mixin already carries an id', () => {
    const { log, lines } = logger({ mixin: (_obj, level) => (level === 40 ? { trace_id: 'from-mixin' } : {}) });
    inSpan(() => {
      log.info({ trace_id: 'from-call' }, 'a');
      log.warn('b');
      log.child({ module: 'm' }).info('c');
    });
    assert.deepEqual(lines, [
      { level: 30, trace_id: 'from-call', msg: 'a' },
      { level: 40, trace_id: 'from-mixin', msg: 'b' },
      { level: 30, module: 'm', ...IDS, msg: 'c' },
    ]);
  });

  it("honours the app's mixinMergeStrategy", () => {
    const { log, lines } = logger({ mixin: () => ({ who: 'mixin' }), mixinMergeStrategy: (call, mixin) => Object.assign(call, mixin) });
    inSpan(() => log.info({ who: 'call' }, 'x'));
    assert.equal(lines[0].who, 'mixin');
    assert.equal(lines[0].span_id, SC.spanId);
  });

  it('goes through pino exactly as before outside a span: no mixin when the app has none', () => {
    const { log } = logger();
    const mixinSym = pino.symbols.mixinSym;
    assert.equal(log[mixinSym], undefined);
    assert.equal(typeof inSpan(() => log[mixinSym]), 'function');
  });
});

describe('console suffix', () => {
  it('counts the arguments a format string consumes', () => {
    assert.equal(formatSpecifiers('%s has %d items, %j %o %O %i %f %c'), 8);
    assert.equal(formatSpecifiers('100%% sure, 50% off, %x'), 0);
    assert.equal(formatSpecifiers('trailing %'), 0);
  });

  it('goes last as its own argument unless a format string would swallow it', () => {
    assert.deepEqual(withSuffix([{ a: 1 }], 'ids'), [{ a: 1 }, 'ids']);
    assert.deepEqual(withSuffix(['%s has %d', 'cart', 3], 'ids'), ['%s has %d', 'cart', 3, 'ids']);
    assert.deepEqual(withSuffix(['100% sure'], 'ids'), ['100% sure', 'ids']);
    assert.deepEqual(withSuffix(['%s and %s', 'one'], 'ids'), ['%s %s', 'one and %s', 'ids']);
  });
});

describe('access log line', () => {
  const entry = {
    time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    method: 'GET',
    route: '/users/:id',
    path: '/users/42',
    status: 200,
    durationMs: 12.34567,
    bytes: 7,
    client: '127.0.0.1',
    traceId: SC.traceId,
    spanId: SC.spanId,
    traceFlags: 1,
    error: undefined,
  };

  it('is one flat JSON object per line, keys in a fixed order', () => {
    assert.equal(
      accessLine(entry),
      '{"time":"2026-01-02T03:04:05.678Z","method":"GET","route":"/users/:id","path":"/users/42","status":200,' +
        `"duration_ms":12.346,"bytes":7,"client_address":"127.0.0.1","trace_id":"${SC.traceId}","span_id":"${SC.spanId}","trace_flags":"01"}\n`,
    );
  });

  it('writes null for what is unknown, adds error only when there is one, and escapes the path', () => {
    const line = JSON.parse(accessLine({ ...entry, route: undefined, status: undefined, bytes: undefined, client: undefined, path: '/a"b\n', error: 'aborted' }));
    assert.deepEqual([line.route, line.status, line.bytes, line.client_address, line.path, line.error], [null, null, null, null, '/a"b\n', 'aborted']);
    assert.equal(JSON.parse(accessLine({ ...entry, path: `/${'x'.repeat(5000)}` })).path.length, 2048);
  });

  it('takes the client from the first X-Forwarded-For hop, else the peer', () => {
    assert.equal(clientAddress('203.0.113.9, 10.0.0.1', '127.0.0.1'), '203.0.113.9');
    assert.equal(clientAddress(undefined, '::1'), '::1');
    assert.equal(clientAddress('', '::1'), '::1');
  });
});

describe('line writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-line-writer-'));
  const waitFor = async (cond) => {
    for (let i = 0; i < 200 && !cond(); i++) await delay(10);
  };

  it('writes every line whole and in order without blocking the caller', async () => {
    const file = join(dir, 'order.log');
    const writer = new LineWriter(openSync(file, 'a'), true, () => assert.fail('no trouble expected'));
    const lines = Array.from({ length: 3000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 97)}"}\n`);
    for (const l of lines) writer.write(l);
    assert.ok(writer.queued > 0, 'lines wait while a write is in flight');
    await waitFor(() => readFileSync(file, 'utf8').length === lines.join('').length);
    assert.equal(readFileSync(file, 'utf8'), lines.join(''));
    writer.close();
  });

  it('drops and reports lines past 4 MiB waiting, and flushes the rest synchronously', () => {
    const file = join(dir, 'overflow.log');
    const trouble = [];
    const writer = new LineWriter(openSync(file, 'a'), true, (kind, message) => trouble.push([kind, message]));
    const line = `${'y'.repeat(1023)}\n`;
    for (let i = 0; i < 5 * 1024; i++) writer.write(line);
    assert.ok(writer.dropped > 900 && writer.dropped < 1100, String(writer.dropped));
    assert.equal(trouble[0][0], 'slow');
    writer.flushSync();
    assert.equal(writer.queued, 0);
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('thread-stream worker detection', () => {
  it("recognises thread-stream's workerData and nothing else", () => {
    assert.equal(isThreadStreamWorker({ filename: 'x', workerData: { $context: { threadStreamVersion: '4.2.1' } } }), true);
    assert.equal(isThreadStreamWorker({ dataBuf: new SharedArrayBuffer(8), stateBuf: new SharedArrayBuffer(8) }), true);
    assert.equal(isThreadStreamWorker({ dataBuf: new ArrayBuffer(8), stateBuf: new ArrayBuffer(8) }), false);
    assert.equal(isThreadStreamWorker(null), false);
    assert.equal(isThreadStreamWorker({ job: 1 }), false);
  });
});

describe('log config', () => {
  it('is off by default', () => {
    const { config, warnings } = loadConfig({});
    assert.deepEqual(config.logs, { consoleCorrelation: false, accessLog: undefined });
    assert.deepEqual(warnings, []);
  });

  it('reads PERISCOPE_ACCESS_LOG as stdout, stderr, off or a path', () => {
    const accessLog = (v) => loadConfig({ PERISCOPE_ACCESS_LOG: v }).config.logs.accessLog;
    assert.equal(accessLog('STDOUT'), 'stdout');
    assert.equal(accessLog('stderr'), 'stderr');
    assert.equal(accessLog('none'), undefined);
    assert.equal(accessLog(' /var/log/app/access.log '), '/var/log/app/access.log');
    assert.equal(accessLog('./stdout'), './stdout');
  });

  it('warns with PERISCOPE_W001 on a PERISCOPE_CONSOLE_CORRELATION that is not a boolean', () => {
    const { config, warnings } = loadConfig({ PERISCOPE_CONSOLE_CORRELATION: 'yes please' });
    assert.equal(config.logs.consoleCorrelation, false);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'PERISCOPE_W001');
  });

  it('accepts the logger names in OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
    const { config, warnings } = loadConfig({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pino,winston,bunyan,console' });
    assert.deepEqual(warnings, []);
    for (const name of ['pino', 'winston', 'bunyan', 'console']) assert.equal(instrumentationEnabled(config, name), false);
    assert.equal(instrumentationEnabled(config, 'http'), true);
  });
});
