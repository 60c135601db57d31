// The data shape every metrics source is turned into before it is written out: prom-client's
// own `get()` output, periscope's histograms, and workers' snapshots (cluster) alike.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'info' | 'summary';

export interface Exemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

export interface Sample {
  /** Full sample name: `x_bucket`, `x_sum`, `x_count`, or the family name (counters without `_total`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly exemplar?: Exemplar | undefined;
}

export interface Family {
  /** Counters: the name without `_total` (the suffix is added when written). Info: without `_info`. */
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
  /** How a cluster primary merges this family across workers (prom-client's aggregator names). */
  readonly aggregator?: 'sum' | 'first' | 'min' | 'max' | 'average' | 'omit' | undefined;
}
