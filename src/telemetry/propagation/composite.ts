// Builds the one propagator the agent installs from the configured list of formats
// (the same names as OTEL_PROPAGATORS).
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { B3Propagator } from './b3.js';
import { W3CBaggagePropagator } from './baggage.js';
import { W3CTraceContextPropagator } from './tracecontext.js';

export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi';

function build(name: PropagatorName): TextMapPropagator | undefined {
  switch (name) {
    case 'tracecontext':
      return new W3CTraceContextPropagator();
    case 'baggage':
      return new W3CBaggagePropagator();
    case 'b3':
      return new B3Propagator({ mode: 'single' });
    case 'b3multi':
      return new B3Propagator({ mode: 'multi' });
    default:
      // Config validates names; anything else reaching here is ignored, not fatal.
      return undefined;
  }
}

const NOOP: TextMapPropagator = {
  inject() {},
  extract: (context) => context,
  fields: () => [],
};

export function createPropagator(names: readonly PropagatorName[]): TextMapPropagator {
  const propagators: TextMapPropagator[] = [];
  for (const name of new Set(names)) {
    const propagator = build(name);
    if (propagator !== undefined) propagators.push(propagator);
  }
  if (propagators.length === 0) return NOOP;
  if (propagators.length === 1) return propagators[0]!;

  const fields = [...new Set(propagators.flatMap((p) => p.fields()))];
  return {
    inject(context: Context, carrier: unknown, setter: TextMapSetter = defaultTextMapSetter): void {
      for (const propagator of propagators) {
        try {
          propagator.inject(context, carrier, setter);
        } catch {
          // Ours never throw; the guard keeps one bad format from silencing the others.
        }
      }
    },
    // In list order, each one seeing what the previous produced, so a later format wins when two
    // carry a span context (as OTEL_PROPAGATORS specifies).
    extract(context: Context, carrier: unknown, getter: TextMapGetter = defaultTextMapGetter): Context {
      let result = context;
      for (const propagator of propagators) {
        try {
          result = propagator.extract(result, carrier, getter);
        } catch {
          // As for inject.
        }
      }
      return result;
    },
    fields: () => [...fields],
  };
}
