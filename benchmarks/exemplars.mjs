// What an exemplar costs on the request path: the server-side metric work of one request
// (active gauge up and down, duration histogram) with and without a trace exemplar.
// Run: npm run build && node benchmarks/exemplars.mjs
import { HttpMetrics } from '../dist/src/metrics/http-metrics.js';

const buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const metrics = new HttpMetrics(buckets, 2000);
const source = { method: 'GET', scheme: 'http', protocolVersion: '1.1', route: '/users/:id', status: 200, errorType: undefined };
const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
const endMs = Date.now();

function nsPerRequest(withExemplar, n) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    metrics.serverStarted(source);
    // As http-server.ts calls it: the exemplar is stamped with the span's end time, read once.
    metrics.serverFinished(source, 0.003, -1, -1, withExemplar ? span : undefined, endMs);
  }
  return Number(process.hrtime.bigint() - t) / n;
}

for (let i = 0; i < 3; i++) {
  nsPerRequest(true, 200_000);
  nsPerRequest(false, 200_000);
}
const without = [];
const withEx = [];
for (let i = 0; i < 5; i++) {
  without.push(nsPerRequest(false, 1_000_000));
  withEx.push(nsPerRequest(true, 1_000_000));
}
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
const a = median(without);
const b = median(withEx);
console.log(`Node ${process.versions.node}: server metrics per request ${a.toFixed(0)} ns without an exemplar, ${b.toFixed(0)} ns with one (+${(b - a).toFixed(0)} ns)`);
