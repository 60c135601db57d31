// Running the log fixtures (fixtures/logs/) and comparing their lines. A fixture logs one batch
// of records outside any span at start and one inside the server span of GET /log; each record
// carries `where` (`outside` | `inside`) so the two batches can be told apart.
import { httpGet, runFixture, waitForPort } from './spawn.js';

export const ID_KEYS = ['trace_id', 'span_id', 'trace_flags'];

/** Runs a log fixture, requests /log once, then /exit, and returns its output once it has exited. */
export async function runLogApp(file, { preload = true, env = {} } = {}) {
  const app = runFixture(file, { preload, env: { OTEL_METRICS_EXPORTER: 'none', ...env } });
  const port = await waitForPort(app);
  const res = await httpGet(`http://127.0.0.1:${port}/log`);
  if (res.status !== 200) throw new Error(`GET /log answered ${res.status}`);
  await httpGet(`http://127.0.0.1:${port}/exit`);
  const { code } = await app.exited;
  if (code !== 0) throw new Error(`${file} exited with ${code}:\n${app.stderr()}`);
  return { stdout: app.stdout(), stderr: app.stderr() };
}

/** What legitimately differs between two runs: times and the pid. Everything else must match. */
export function normalize(line) {
  return line
    .replace(/"time":\d+/g, '"time":0')
    .replace(/"(time|timestamp)":"[^"]*"/g, '"$1":"T"')
    .replace(/"pid":\d+/g, '"pid":0');
}

/** The lines of one batch, JSON and text alike, in the order they were written. */
export function batch(stdout, where) {
  return stdout.split('\n').filter((l) => l.includes(`"where":"${where}"`) || l.includes(` where=${where}`));
}

/** A line with periscope's ids taken out: JSON re-serialised in its own key order, text with ids as `-`. */
export function withoutIds(line) {
  if (!line.startsWith('{')) return line.replace(/=[0-9a-f]{32}\b/g, '=-').replace(/=[0-9a-f]{16}\b/g, '=-');
  const record = JSON.parse(line);
  if (record.span_id !== undefined) for (const k of ID_KEYS) delete record[k];
  return JSON.stringify(record);
}

/** The JSON records of a batch. */
export function records(lines) {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}
