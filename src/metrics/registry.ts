// Everything one scrape shows, as Families: periscope's HTTP instruments, its own health, the
// resource (target_info), build info, and prom-client's default Node runtime collectors.
// prom-client is imported on the first scrape, not at start-up: loading it costs ~28 ms and
// ~20 MB, which apps that are never scraped should not pay. Counters it reports are cumulative
// (CPU, GC counts), so nothing is lost by starting late; only GC pause samples and event-loop
// delay before the first scrape are not seen.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { ExportStats } from '../telemetry/batch-processor.js';
import type { Resource } from '../telemetry/types.js';
import { VERSION } from '../version.js';
import { fromPromClient } from './exposition.js';
import type { HttpMetrics } from './http-metrics.js';
import type { Family } from './types.js';

interface PromRegistryLike {
  getMetricsAsArray(): { get(): Promise<unknown> | unknown }[];
}

// prom-client's three sums of the per-type gauges are gauges named `*_total`, which promtool
// rejects ("non-counter metrics should not have _total suffix"); `sum(nodejs_active_handles)`
// gives the same number.
const DROPPED_DEFAULTS = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

function toLabelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export class MetricsRegistry {
  private prom: Promise<PromRegistryLike | undefined> | undefined;
  private lastElu: EventLoopUtilization | undefined;
  private readonly targetLabels: Record<string, string>;

  constructor(
    private readonly http: HttpMetrics,
    resource: Resource,
    private readonly exportStats: () => ExportStats[],
  ) {
    this.targetLabels = {};
    for (const [k, v] of Object.entries(resource.attributes)) this.targetLabels[toLabelName(k)] = String(v);
  }

  private loadProm(): Promise<PromRegistryLike | undefined> {
    this.prom ??= import('prom-client').then(
      (prom) => {
        // Our own registry, never prom-client's global one: an app with its own prom-client
        // metrics keeps them untouched.
        const registry = new prom.Registry();
        prom.collectDefaultMetrics({ register: registry });
        return registry as unknown as PromRegistryLike;
      },
      () => undefined,
    );
    return this.prom;
  }

  private runtimeExtras(): Family[] {
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    return [
      {
        name: 'nodejs_eventloop_utilization_ratio',
        help: 'Event loop utilization since the previous scrape (0 to 1).',
        type: 'gauge',
        samples: [{ name: 'nodejs_eventloop_utilization_ratio', labels: {}, value: elu.utilization }],
        aggregator: 'average',
      },
    ];
  }

  private ownHealth(): Family[] {
    let exported = 0;
    let queueFull = 0;
    let failed = 0;
    let errors = 0;
    for (const s of this.exportStats()) {
      exported += s.exported;
      queueFull += s.dropped;
      failed += s.failed;
      errors += s.exportErrors;
    }
    const counter = (name: string, help: string, samples: [Record<string, string>, number][]): Family => ({
      name,
      help,
      type: 'counter',
      samples: samples.map(([labels, value]) => ({ name, labels, value })),
      aggregator: 'sum',
    });
    return [
      {
        name: 'periscope_build',
        help: 'periscope-agent is active in this process.',
        type: 'info',
        samples: [{ name: 'periscope_build', labels: { version: VERSION, node_version: process.versions.node }, value: 1 }],
        aggregator: 'first',
      },
      counter('periscope_spans_exported', 'Spans accepted by the trace exporters.', [[{}, exported]]),
      counter('periscope_spans_dropped', 'Spans dropped: the queue was full, or the exporter failed for good.', [
        [{ reason: 'queue_full' }, queueFull],
        [{ reason: 'export_failed' }, failed],
      ]),
      counter('periscope_span_export_failures', 'Failed span export attempts (each retry counts).', [[{}, errors]]),
      counter(
        'periscope_metric_overflow',
        'Observations folded into the otel_metric_overflow series because a metric reached PERISCOPE_METRICS_MAX_SERIES.',
        this.http.overflows().map(([metric, n]) => [{ metric }, n]),
      ),
    ];
  }

  async collect(): Promise<Family[]> {
    const families: Family[] = [
      {
        name: 'target',
        help: 'Target metadata: the OpenTelemetry resource attributes.',
        type: 'info',
        samples: [{ name: 'target', labels: this.targetLabels, value: 1 }],
        aggregator: 'first',
      },
      ...this.ownHealth(),
      ...this.http.collect(),
      ...this.runtimeExtras(),
    ];
    const prom = await this.loadProm();
    if (prom !== undefined) {
      const data = await Promise.all(prom.getMetricsAsArray().map((m) => m.get()));
      for (const d of data as Parameters<typeof fromPromClient>[0][]) {
        if (!DROPPED_DEFAULTS.has(d.name)) families.push(fromPromClient(d));
      }
    }
    return families;
  }
}
