// An OTLP/HTTP JSON collector on 127.0.0.1 that can be told to misbehave: refuse connections,
// hang, answer slowly, answer 429/503 with Retry-After, answer 400, or close mid-body.
import { createServer } from 'node:http';

export async function startFaultyCollector() {
  let mode = { kind: 'ok' };
  const batches = []; // { at, spanIds } of accepted batches
  const attempts = []; // { at, kind } of every request that arrived
  const hanging = new Set();

  const server = createServer((req, res) => {
    const chunks = [];
    if (mode.kind === 'reset') {
      // The connection dies while the request body is still arriving.
      req.once('data', () => {
        attempts.push({ at: Date.now(), kind: 'reset', firstSpanId: undefined });
        req.socket.destroy();
      });
      return;
    }
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const arrivedAt = Date.now();
      attempts.push({ at: Date.now(), kind: mode.kind, firstSpanId: firstSpanId(chunks) });
      switch (mode.kind) {
        case 'hang':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case 'status':
          res.writeHead(mode.status, mode.retryAfter === undefined ? {} : { 'retry-after': String(mode.retryAfter) }).end('{}');
          return;

        case 'slow':
          setTimeout(() => accept(chunks, res, arrivedAt), mode.delayMs);
          return;
        default:
          accept(chunks, res, arrivedAt);
      }
    });
  });

  function spanIdsOf(chunks) {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId)));
  }

  function firstSpanId(chunks) {
    try {
      return spanIdsOf(chunks)[0];
    } catch {
      return undefined;
    }
  }

  // `at` is when the request arrived, not when a slow answer is finally given: a batch sent
  // before a confirmation may be answered after it.
  function accept(chunks, res, at) {
    let spanIds;
    try {
      spanIds = spanIdsOf(chunks);
    } catch {
      res.writeHead(400).end();
      return;
    }
    // `confirmed` once the 200 really left: a client that timed out never saw it.
    const batch = { at, spanIds, confirmed: false };
    batches.push(batch);
    const socket = res.socket;
    res.on('finish', () => {
      batch.confirmed = socket !== null && !socket.destroyed;
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  const listen = (port = 0) => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    batches,
    attempts,
    spanIds: () => batches.flatMap((b) => b.spanIds),
    async setMode(next) {
      if (mode.kind === 'refuse' && next.kind !== 'refuse') await listen(port);
      if (next.kind === 'refuse' && mode.kind !== 'refuse') {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      if (mode.kind === 'hang' && next.kind !== 'hang') for (const res of hanging) res.socket?.destroy();
      mode = next;
    },
    async close() {
      for (const res of hanging) res.socket?.destroy();
      if (server.listening) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
