// The request-path instruments. prom-client's Histogram hashes and validates its label object on
// every observe (and again for an exemplar); on a path that runs for every request we instead
// look a series up by a key string the caller builds once (and keeps the series while the labels
// stay the same), and keep bucket counts in a typed array. Series are capped per metric: past the cap, new label sets fold into one overflow series.
import { spanIdHex, traceIdHex, type SpanIdWords } from '../telemetry/ids.js';
import type { Exemplar, Family, Sample } from './types.js';

export const OVERFLOW_LABELS: Readonly<Record<string, string>> = Object.freeze({ otel_metric_overflow: 'true' });

interface MutableExemplar {
  /** The sampled span's ids as words: a scrape formats the hex, not every request. */
  ids: SpanIdWords;
  value: number;
  time: number;
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Latest sampled observation per bucket; filled lazily, then reused without allocation. */
  readonly exemplars: (MutableExemplar | undefined)[];
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    buckets: number,
  ) {
    this.counts = new Float64Array(buckets + 1);
    this.exemplars = new Array<MutableExemplar | undefined>(buckets + 1);
  }
}

export interface CapStats {
  /** Observations folded into the overflow series because the cap was reached. */
  overflowed: number;
}

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  private overflow: HistogramSeries | undefined;
  readonly cap: CapStats = { overflowed: 0 };

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
    private readonly maxSeries: number,
  ) {}

  /**
   * The series for a label set. `key` identifies it (the caller joins the label values);
   * `makeLabels(src)` is only called the first time a key is seen. Callers keep the series to
   * skip even this lookup while the labels stay the same (HttpMetrics).
   */
  seriesFor<T>(key: string, makeLabels: (src: T) => Record<string, string>, src: T): HistogramSeries {
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) return (this.overflow ??= new HistogramSeries(OVERFLOW_LABELS, this.bounds.length));
      s = new HistogramSeries(makeLabels(src), this.bounds.length);
      this.series.set(key, s);
    }
    return s;
  }

  /**
   * `atMs`: when the value was measured (epoch ms), the exemplar's timestamp; the span's end time,
   * for spans. Read from the clock only when there is an exemplar and no time.
   */
  record(s: HistogramSeries, value: number, exemplar?: SpanIdWords, atMs?: number): void {
    if (s === this.overflow) this.cap.overflowed++;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    s.counts[i]! += 1;
    s.sum += value;
    s.count++;
    if (exemplar !== undefined) {
      const time = (atMs ?? Date.now()) / 1000;
      const e = s.exemplars[i];
      if (e === undefined) s.exemplars[i] = { ids: exemplar, value, time };
      else {
        e.ids = exemplar;
        e.value = value;
        e.time = time;
      }
    }
  }

  seriesCount(): number {
    return this.series.size + (this.overflow ? 1 : 0);
  }

  collect(): Family {
    const samples: Sample[] = [];
    const all = [...this.series.values()];
    if (this.overflow) all.push(this.overflow);
    for (const s of all) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i] as number;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        const e = s.exemplars[i];
        const exemplar: Exemplar | undefined =
          e === undefined ? undefined : { labels: { trace_id: traceIdHex(e.ids), span_id: spanIdHex(e.ids) }, value: e.value, timestamp: e.time };
        samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative, exemplar });
      }
      samples.push({ name: `${this.name}_sum`, labels: s.labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples, aggregator: 'sum' };
  }
}

export interface GaugeSeries {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

/** An up/down count per label set (active requests). Same key scheme and cap as Histogram. */
export class UpDownGauge {
  private readonly series = new Map<string, GaugeSeries>();
  private readonly overflow: GaugeSeries = { labels: OVERFLOW_LABELS, value: 0 };
  readonly cap: CapStats = { overflowed: 0 };

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly maxSeries: number,
  ) {}

  /** As Histogram.seriesFor. */
  seriesFor<T>(key: string, makeLabels: (src: T) => Record<string, string>, src: T): GaugeSeries {
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) return this.overflow;
      s = { labels: makeLabels(src), value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  addTo(s: GaugeSeries, delta: number): void {
    if (s === this.overflow) this.cap.overflowed++;
    s.value += delta;
  }

  collect(): Family {
    const samples: Sample[] = [];
    for (const s of this.series.values()) samples.push({ name: this.name, labels: s.labels, value: s.value });
    if (this.overflow.value !== 0) samples.push({ name: this.name, labels: this.overflow.labels, value: this.overflow.value });
    return { name: this.name, help: this.help, type: 'gauge', samples, aggregator: 'sum' };
  }
}
