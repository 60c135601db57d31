// node:cluster: the primary serves one exposition for all workers, so `rate()` over the summed
// counters is right. Workers answer the primary over IPC with periscope's own message type (not
// prom-client's AggregatorRegistry, whose globals collide with an app that aggregates its own
// prom-client metrics). A scrape waits for workers at most WORKER_TIMEOUT_MS; a slow worker's
// last snapshot is used instead. A worker that exits leaves its counters and histograms behind
// in a retired total, so the sums never go down (which Prometheus would read as a counter reset).
import type { Worker } from 'node:cluster';
import { cluster } from '../builtins.js';
import { reportInternal } from '../report.js';
import type { MetricsRegistry } from './registry.js';
import type { Family, Sample } from './types.js';

const REQUEST = 'periscope:metrics:request';
const REPLY = 'periscope:metrics:reply';
const WORKER_TIMEOUT_MS = 1_000;

interface Message {
  readonly periscope?: string;
  readonly id?: number;
  readonly families?: Family[];
}

/** In a worker: answer the primary's requests with this process's families. */
export function answerPrimary(registry: MetricsRegistry): void {
  // Cluster's own 'disconnect' listener already keeps the IPC channel referenced, so this
  // listener does not change when the worker may exit.
  process.on('message', (msg: Message) => {
    if (msg === null || typeof msg !== 'object' || msg.periscope !== REQUEST) return;
    registry.collect().then(
      (families) => process.send?.({ periscope: REPLY, id: msg.id, families }),
      (err: unknown) => reportInternal('cluster metrics', err),
    );
  });
}

const lastSnapshot = new Map<number, Family[]>();
const retired = new Map<string, Family>();
const waiting = new Map<number, (m: Message) => void>();
let nextId = 1;
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  const c = cluster();
  c.on('message', (_worker: Worker, msg: Message) => {
    if (msg === null || typeof msg !== 'object' || msg.periscope !== REPLY || msg.id === undefined) return;
    waiting.get(msg.id)?.(msg);
  });
  c.on('exit', (worker: Worker) => {
    const last = lastSnapshot.get(worker.id);
    lastSnapshot.delete(worker.id);
    if (last !== undefined) retire(last);
  });
}

function askWorker(worker: Worker): Promise<Family[] | undefined> {
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve(lastSnapshot.get(worker.id));
    }, WORKER_TIMEOUT_MS);
    timer.unref();
    waiting.set(id, (msg) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (msg.families) lastSnapshot.set(worker.id, msg.families);
      resolve(msg.families);
    });
    try {
      worker.send({ periscope: REQUEST, id });
    } catch {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(lastSnapshot.get(worker.id));
    }
  });
}

const cumulative = (f: Family): boolean => f.type === 'counter' || f.type === 'histogram';

function retire(families: Family[]): void {
  for (const f of families) {
    if (!cumulative(f) || f.aggregator === 'omit') continue;
    const prev = retired.get(f.name);
    retired.set(f.name, prev === undefined ? f : merge([prev, f]));
  }
}

function sampleKey(s: Sample): string {
  return `${s.name}${JSON.stringify(s.labels)}`;
}

/** Merge one family's copies from several processes by its aggregator (sum by default). */
function merge(copies: Family[]): Family {
  const first = copies[0] as Family;
  const how = first.aggregator ?? 'sum';
  const groups = new Map<string, Sample[]>();
  for (const c of copies) {
    for (const s of c.samples) {
      const k = sampleKey(s);
      const g = groups.get(k);
      if (g === undefined) groups.set(k, [s]);
      else g.push(s);
    }
  }
  const samples: Sample[] = [];
  for (const g of groups.values()) {
    const values = g.map((s) => s.value);
    let value: number;
    if (how === 'first') value = values[0] as number;
    else if (how === 'min') value = Math.min(...values);
    else if (how === 'max') value = Math.max(...values);
    else if (how === 'average') value = values.reduce((a, b) => a + b, 0) / values.length;
    else value = values.reduce((a, b) => a + b, 0);
    const exemplar = g.reduce<Sample['exemplar']>((e, s) => (s.exemplar && (!e || s.exemplar.timestamp > e.timestamp) ? s.exemplar : e), undefined);
    samples.push({ ...(g[0] as Sample), value, exemplar });
  }
  return { ...first, samples };
}

/** The primary's own families, merged with every live worker's and the retired totals. */
export async function collectFromWorkers(registry: MetricsRegistry): Promise<Family[]> {
  const own = await registry.collect();
  // Loaded at the first scrape, not at start-up: in an app that never loaded it there are no
  // workers, and the load costs that scrape a few ms once.
  const c = cluster();
  const workers = c.isPrimary ? Object.values(c.workers ?? {}).filter((w): w is Worker => w !== undefined) : [];
  if (workers.length === 0 && retired.size === 0) return own;
  listen();
  const snapshots = (await Promise.all(workers.map(askWorker))).filter((f): f is Family[] => f !== undefined);
  const byName = new Map<string, Family[]>();
  const order: string[] = [];
  for (const families of [own, ...snapshots, [...retired.values()]]) {
    for (const f of families) {
      const list = byName.get(f.name);
      if (list === undefined) {
        byName.set(f.name, [f]);
        order.push(f.name);
      } else list.push(f);
    }
  }
  // The resource and build info describe the primary; workers' copies would only differ by instance id.
  return order.map((name) => {
    const copies = byName.get(name) as Family[];
    return name === 'target' || name === 'periscope_build' ? (copies[0] as Family) : merge(copies);
  });
}
