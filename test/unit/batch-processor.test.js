import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchSpanProcessor, MultiSink } from '../../dist/src/telemetry/batch-processor.js';
import { setLogLevel } from '../../dist/src/diag.js';

const OK = { ok: true, retryable: false };
const OPTS = { scheduleDelayMs: 10_000, exportTimeoutMs: 10_000, maxQueueSize: 100, maxExportBatchSize: 10 };

/**
 * The processor's collaborator: `behaviour(batch, n)` scripts the result of the n-th export call
 * (a result, or a promise of one). Records every call with its time.
 */
function fakeExporter(behaviour = () => OK) {
  const ex = {
    name: 'fake',
    calls: [],
    syncCalls: [],
    shutdowns: 0,
    inFlight: 0,
    maxInFlight: 0,
    export(spans) {
      ex.calls.push({ names: spans.map((s) => s.name), at: performance.now() });
      ex.inFlight++;
      ex.maxInFlight = Math.max(ex.maxInFlight, ex.inFlight);
      return Promise.resolve(behaviour(spans, ex.calls.length)).finally(() => ex.inFlight--);
    },
    exportSync(batches, timeoutMs) {
      // The batch still waiting for its answer, then what was queued: one call either way.
      ex.syncCalls.push({ names: batches.flat().map((s) => s.name), timeoutMs });
    },
    async shutdown() {
      ex.shutdowns++;
    },
  };
  return ex;
}

function processor(behaviour, opts = {}) {
  const exporter = fakeExporter(behaviour);
  return { exporter, bsp: new BatchSpanProcessor(exporter, { ...OPTS, ...opts }) };
}

function queue(bsp, n, prefix = 's') {
  for (let i = 0; i < n; i++) bsp.onEnd({ name: `${prefix}${i}` });
}

async function waitFor(predicate, ms = 1000) {
  const until = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await sleep(2);
  }
}

const sizes = (exporter) => exporter.calls.map((c) => c.names.length);

// The processor warns on stderr about full queues and failed exports; not what these tests read.
before(() => setLogLevel('none'));
after(() => setLogLevel('warn'));

describe('scheduling', () => {
  it('exports a partial batch once the schedule delay has passed, not before', async () => {
    const { bsp, exporter } = processor(undefined, { scheduleDelayMs: 60 });
    const start = performance.now();
    queue(bsp, 3);
    await sleep(20);
    assert.equal(exporter.calls.length, 0);
    await waitFor(() => exporter.calls.length === 1);
    assert.ok(exporter.calls[0].at - start >= 55, `exported after ${exporter.calls[0].at - start} ms`);
    assert.deepEqual(exporter.calls[0].names, ['s0', 's1', 's2']);
    assert.equal(bsp.stats.exported, 3);
  });

  it('exports at once when a full batch is queued', async () => {
    const { bsp, exporter } = processor(undefined, { maxExportBatchSize: 4 });
    queue(bsp, 4);
    await waitFor(() => exporter.calls.length === 1, 200);
    assert.deepEqual(sizes(exporter), [4]);
  });

  it('never sends more than maxExportBatchSize spans in one export', async () => {
    const { bsp, exporter } = processor(undefined, { maxExportBatchSize: 3, scheduleDelayMs: 20 });
    queue(bsp, 10);
    await waitFor(() => bsp.stats.exported === 10);
    assert.deepEqual(sizes(exporter), [3, 3, 3, 1]);
    assert.deepEqual(exporter.calls.flatMap((c) => c.names), Array.from({ length: 10 }, (_, i) => `s${i}`));
  });

  it('drops spans when the queue is full and counts them', async () => {
    const { bsp, exporter } = processor(undefined, { maxQueueSize: 5, maxExportBatchSize: 5 });
    bsp.onEnd({ name: 'a' });
    bsp.onEnd({ name: 'b' });
    // A full batch schedules an export, but nothing has left yet: the next three do not fit.
    queue(bsp, 6);
    assert.equal(bsp.stats.dropped, 3);
    await bsp.forceFlush(500);
    assert.equal(bsp.stats.exported, 5);
    assert.deepEqual(exporter.calls[0].names, ['a', 'b', 's0', 's1', 's2']);
  });

  it('keeps one export in flight at a time', async () => {
    const releases = [];
    const { bsp, exporter } = processor(() => new Promise((resolve) => releases.push(() => resolve(OK))), {
      maxExportBatchSize: 2,
      scheduleDelayMs: 5,
    });
    queue(bsp, 2, 'a');
    await waitFor(() => exporter.calls.length === 1);
    queue(bsp, 4, 'b');
    await sleep(30);
    assert.equal(exporter.calls.length, 1);
    while (bsp.stats.exported < 6) {
      await waitFor(() => releases.length > 0);
      releases.shift()();
      await sleep(1);
    }
    assert.equal(exporter.maxInFlight, 1);
    assert.deepEqual(sizes(exporter), [2, 2, 2]);
  });

  it('fans spans out to every processor of a MultiSink', async () => {
    const one = processor();
    const two = processor();
    const sink = new MultiSink([one.bsp, two.bsp]);
    sink.onEnd({ name: 'x' });
    await Promise.all([one.bsp.forceFlush(200), two.bsp.forceFlush(200)]);
    assert.deepEqual(one.exporter.calls[0].names, ['x']);
    assert.deepEqual(two.exporter.calls[0].names, ['x']);
  });
});

describe('failures', () => {
  it('retries a retryable failure after the server-requested delay', async () => {
    const { bsp, exporter } = processor((_, n) => (n === 1 ? { ok: false, retryable: true, retryAfterMs: 60, error: '503' } : OK), {
      scheduleDelayMs: 1,
    });
    queue(bsp, 2);
    await waitFor(() => bsp.stats.exported === 2);
    assert.equal(exporter.calls.length, 2);
    assert.deepEqual(exporter.calls[1].names, exporter.calls[0].names);
    const gap = exporter.calls[1].at - exporter.calls[0].at;
    assert.ok(gap >= 55, `retried after ${gap} ms`);
    assert.deepEqual(bsp.stats, { exported: 2, dropped: 0, failed: 0, exportErrors: 1 });
  });

  it('gives up on a batch after five failed attempts and counts it as failed', async () => {
    const { bsp, exporter } = processor(() => ({ ok: false, retryable: true, retryAfterMs: 2 }), { scheduleDelayMs: 1 });
    queue(bsp, 3);
    await waitFor(() => bsp.stats.failed === 3);
    assert.equal(exporter.calls.length, 5);
    assert.deepEqual(bsp.stats, { exported: 0, dropped: 0, failed: 3, exportErrors: 5 });
  });

  it('drops a batch after a non-retryable failure without retrying', async () => {
    const { bsp, exporter } = processor(() => ({ ok: false, retryable: false, error: '400' }), { scheduleDelayMs: 1 });
    queue(bsp, 4);
    await waitFor(() => bsp.stats.failed === 4);
    await sleep(20);
    assert.equal(exporter.calls.length, 1);
    assert.deepEqual(bsp.stats, { exported: 0, dropped: 0, failed: 4, exportErrors: 1 });
  });

  it('treats an exporter that throws as a non-retryable failure', async () => {
    const exporter = fakeExporter();
    exporter.export = () => {
      throw new Error('bug');
    };
    const bsp = new BatchSpanProcessor(exporter, { ...OPTS, scheduleDelayMs: 1 });
    queue(bsp, 2);
    await waitFor(() => bsp.stats.failed === 2);
    assert.equal(bsp.stats.exportErrors, 1);
  });

  it('counts an export that outlives exportTimeoutMs as a failed attempt', async () => {
    const { bsp } = processor(() => new Promise(() => {}), { exportTimeoutMs: 30 });
    queue(bsp, 2);
    const start = performance.now();
    // During a flush a failed attempt is not retried, so the batch is failed after one timeout.
    await bsp.forceFlush(1000);
    assert.ok(performance.now() - start < 500);
    assert.deepEqual(bsp.stats, { exported: 0, dropped: 0, failed: 2, exportErrors: 1 });
  });
});

describe('flushing and shutdown', () => {
  it('exports everything queued on forceFlush, in batches', async () => {
    const { bsp, exporter } = processor(undefined, { maxExportBatchSize: 2 });
    queue(bsp, 5);
    await bsp.forceFlush(1000);
    assert.deepEqual(sizes(exporter), [2, 2, 1]);
    assert.equal(bsp.stats.exported, 5);
    assert.equal(bsp.pending(), 0);
  });

  it('resolves forceFlush by its deadline when the exporter never answers', async () => {
    const { bsp, exporter } = processor(() => new Promise(() => {}), { exportTimeoutMs: 60_000 });
    queue(bsp, 3);
    const start = performance.now();
    await bsp.forceFlush(150);
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 150 + 200, `forceFlush took ${elapsed} ms`);
    assert.equal(exporter.calls.length, 1);
  });

  it('hands everything queued to exportSync in one call on flushSync', () => {
    const { bsp, exporter } = processor(undefined, { maxExportBatchSize: 2 });
    queue(bsp, 5);
    bsp.flushSync(123);
    assert.deepEqual(exporter.syncCalls, [{ names: ['s0', 's1', 's2', 's3', 's4'], timeoutMs: 123 }]);
    assert.equal(bsp.pending(), 0);
    bsp.flushSync(123);
    assert.equal(exporter.syncCalls.length, 1);
  });

  it('flushes on shutdown, shuts the exporter down once and ignores later spans', async () => {
    const { bsp, exporter } = processor();
    queue(bsp, 3);
    await bsp.shutdown(500);
    assert.equal(bsp.stats.exported, 3);
    assert.equal(exporter.shutdowns, 1);
    queue(bsp, 3, 'late');
    assert.equal(bsp.pending(), 0);
    await bsp.shutdown(500);
    await sleep(20);
    assert.equal(exporter.shutdowns, 1);
    assert.equal(exporter.calls.length, 1);
  });
});

describe('process lifetime', () => {
  let child;
  after(() => child?.kill('SIGKILL'));

  it('does not keep the process alive with its timers', async () => {
    const url = new URL('../../dist/src/telemetry/batch-processor.js', import.meta.url).href;
    // One processor waits on a long schedule delay, the other on an export that never answers.
    const code = `
      const { BatchSpanProcessor } = await import(${JSON.stringify(url)});
      const exporter = { name: 'x', export: () => new Promise(() => {}), exportSync() {}, async shutdown() {} };
      new BatchSpanProcessor(exporter, { scheduleDelayMs: 60000, exportTimeoutMs: 60000, maxQueueSize: 10, maxExportBatchSize: 5 }).onEnd({ name: 'a' });
      new BatchSpanProcessor(exporter, { scheduleDelayMs: 0, exportTimeoutMs: 60000, maxQueueSize: 10, maxExportBatchSize: 1 }).onEnd({ name: 'b' });
    `;
    child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const timeout = sleep(2000, 'still running after 2 s', { ref: false });
    assert.equal(await Promise.race([exited, timeout]), 0, stderr);
  });
});

describe('protobuf batch memory', () => {
  const resource = { attributes: { 'service.name': 'recycling' } };
  const scope = { name: 'periscope/test', version: undefined };
  const span = (i) => ({
    name: `span ${i}`, kind: 1, traceId: '0af7651916cd43dd8448eb211c80319c', spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: undefined, parentIsRemote: false, traceState: undefined, traceFlags: 1, startTime: 1700000000000 + i, endTime: 1700000000001 + i,
    attributes: { 'url.path': `/items/${i}` }, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: 0 }, scope, resource,
  });

  it('reuses the memory of a batch the collector accepted, never of one whose export failed', async () => {
    const { ProtoSpanQueue } = await import('../../dist/src/telemetry/exporters/otlp-proto.js');
    const sent = [];
    const exporter = {
      name: 'proto',
      createQueue: () => new ProtoSpanQueue(),
      // The first batch fails for good; the others are accepted.
      export(data) {
        sent.push({ data, bytes: Buffer.from(data) });
        return Promise.resolve(sent.length === 1 ? { ok: false, retryable: false, error: 'refused' } : OK);
      },
      exportSync() {},
      async shutdown() {},
    };
    const bsp = new BatchSpanProcessor(exporter, { ...OPTS, maxExportBatchSize: 4 });
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) bsp.onEnd(span(round * 4 + i));
      await waitFor(() => sent.length === round + 1);
      await sleep(5);
    }
    assert.equal(sent.length, 4);
    // The failed batch may still be read by a request in flight: its bytes never change.
    assert.deepEqual(Buffer.from(sent[0].data), sent[0].bytes);
    assert.notEqual(sent[1].data.buffer, sent[0].data.buffer);
    // Each accepted batch's memory carries the next batch.
    assert.equal(sent[2].data.buffer, sent[1].data.buffer);
    assert.equal(sent[3].data.buffer, sent[2].data.buffer);
    assert.equal(bsp.stats.exported, 12);
    assert.equal(bsp.stats.failed, 4);
  });
});
