// Our own exposition writer over prom-client's data, for both formats. prom-client's registry is
// either text or OpenMetrics as a whole, throws on exemplars in text mode, and renames counters
// in place when it renders OpenMetrics (prom-client 15 Registry.metrics), which would corrupt a
// later text scrape. Writing the two formats here, from immutable data, avoids all three.
import type { Family, Sample } from './types.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type Format = 'text' | 'openmetrics';

/** OpenMetrics only when the scraper asks for it (Prometheus does, first in its Accept list). */
export function negotiate(accept: string | undefined): Format {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'text';
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelString(labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in labels) {
    const value = labels[key];
    if (value === undefined) continue;
    out += `${out === '' ? '' : ','}${key}="${escapeLabelValue(String(value))}"`;
  }
  return out === '' ? '' : `{${out}}`;
}

function sampleName(family: Family, sample: Sample): string {
  if (family.type === 'counter' && sample.name === family.name) return `${family.name}_total`;
  if (family.type === 'info' && sample.name === family.name) return `${family.name}_info`;
  return sample.name;
}

export function render(families: readonly Family[], format: Format): string {
  const om = format === 'openmetrics';
  const parts: string[] = [];
  for (const family of families) {
    if (family.samples.length === 0 && family.type !== 'counter' && family.type !== 'gauge') continue;
    // In the text format a counter's TYPE names the sample (`x_total`); OpenMetrics names the
    // family (`x`). The text format has no info type: it is a gauge named `x_info`.
    let typeName = family.name;
    let type: string = family.type;
    if (!om && family.type === 'counter') typeName = `${family.name}_total`;
    if (family.type === 'info' && !om) {
      typeName = `${family.name}_info`;
      type = 'gauge';
    }
    parts.push(`# HELP ${typeName} ${escapeHelp(family.help)}`);
    parts.push(`# TYPE ${typeName} ${type}`);
    for (const sample of family.samples) {
      let line = `${sampleName(family, sample)}${labelString(sample.labels)} ${formatValue(sample.value)}`;
      if (om && sample.exemplar !== undefined) {
        const e = sample.exemplar;
        line += ` # ${labelString(e.labels) || '{}'} ${formatValue(e.value)} ${e.timestamp.toFixed(3)}`;
      }
      parts.push(line);
    }
  }
  if (om) parts.push('# EOF');
  return parts.join('\n') + '\n';
}

/** prom-client's `metric.get()` output → a Family. Names are not touched in place. */
export function fromPromClient(data: {
  name: string;
  help: string;
  type: string;
  values?: { value: number; labels?: Record<string, string | number>; metricName?: string }[];
  aggregator?: string;
}): Family {
  const type = (['counter', 'gauge', 'histogram', 'summary'].includes(data.type) ? data.type : 'gauge') as Family['type'];
  const name = type === 'counter' ? data.name.replace(/_total$/, '') : data.name;
  const samples: Sample[] = (data.values ?? []).map((v) => {
    const labels: Record<string, string> = {};
    for (const k in v.labels) labels[k] = String(v.labels[k]);
    let sname = v.metricName ?? data.name;
    if (type === 'counter') sname = sname.replace(/_total$/, '');
    return { name: sname, labels, value: v.value };
  });
  return { name, help: data.help, type, samples, aggregator: data.aggregator as Family['aggregator'] };
}
