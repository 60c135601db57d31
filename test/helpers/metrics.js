// Scraping and reading a metrics exposition from the test process.
import { httpRequest } from './spawn.js';

/** The metrics port a fixture reports at debug level (OTEL_EXPORTER_PROMETHEUS_PORT=0, OTEL_LOG_LEVEL=debug). */
export async function waitForMetricsPort(proc, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /metrics endpoint on http:\/\/[^\s]+:(\d+)\//.exec(proc.stderr());
    if (m) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no metrics endpoint line on stderr:\n${proc.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function scrape(port, { openmetrics = false, path = '/metrics', headers = {} } = {}) {
  return httpRequest(`http://127.0.0.1:${port}${path}`, {
    headers: openmetrics ? { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5', ...headers } : headers,
  });
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? (\S+)(?: # \{(.*?)\} (\S+) (\S+))?$/;

function parseLabels(s) {
  const labels = {};
  if (!s) return labels;
  for (const m of s.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  return labels;
}

/** Samples of an exposition (text or OpenMetrics): [{ name, labels, value, exemplar? }]. */
export function parseExposition(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const sample = { name: m[1], labels: parseLabels(m[2]), value: Number(m[3]) };
    if (m[4] !== undefined) sample.exemplar = { labels: parseLabels(m[4]), value: Number(m[5]), timestamp: Number(m[6]) };
    samples.push(sample);
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sum(samples, name, match = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => (v === undefined ? !(k in s.labels) : s.labels[k] === v)))
    .reduce((a, s) => a + s.value, 0);
}
