// The active context lives in an AsyncLocalStorage, so it follows the request across await,
// timers and callbacks without any per-call bookkeeping on our side.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { ROOT_CONTEXT, type Context, type ContextManager, type Span } from '@opentelemetry/api';

export const storage = new AsyncLocalStorage<Context>();

export function activeContext(): Context {
  return storage.getStore() ?? ROOT_CONTEXT;
}

// The API's own key for the active span: createContextKey() is Symbol.for(description) in every
// @opentelemetry/api 1.x, which is how all copies of the API agree on it.
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

/**
 * `parent` with `span` as its active span: what trace.setSpan(parent, span) returns, without
 * copying the parent's Map of values (the API's BaseContext copies it on every setValue). Done
 * for every request and every outgoing call. Reads of other keys go to the parent; the rare
 * setValue/deleteValue on it builds the API's own context from the parent, so chains never grow.
 */
class SpanContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly span: Span,
  ) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.parent.setValue(SPAN_KEY, this.span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.parent.setValue(SPAN_KEY, this.span).deleteValue(key);
  }
}

export function withSpan(parent: Context, span: Span): Context {
  return new SpanContext(parent, span);
}

/** Run fn(...args) with `ctx` active. Cheap when ctx is already active. */
export function runWith<A extends unknown[], R>(ctx: Context, fn: (...args: A) => R, thisArg: unknown, args: A): R {
  if (storage.getStore() === ctx) return Reflect.apply(fn, thisArg, args);
  return storage.run(ctx, Reflect.apply, fn, thisArg, args) as R;
}

export class AlsContextManager implements ContextManager {
  active(): Context {
    return activeContext();
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return runWith(context, fn, thisArg, args);
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target === 'function') {
      const fn = target as unknown as (...a: unknown[]) => unknown;
      const bound = function (this: unknown, ...args: unknown[]) {
        return runWith(context, fn, this, args);
      };
      Object.defineProperty(bound, 'length', { value: fn.length, configurable: true });
      return bound as unknown as T;
    }
    if (target instanceof EventEmitter) return bindEmitter(context, target) as T;
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    storage.disable();
    return this;
  }
}

// Listeners added through the API's bind(ctx, emitter) run in ctx. Rarely used by apps, so the
// simple per-emitter wrapping of emit is fine here; the http instrumentations have their own
// allocation-free binding.
function bindEmitter(context: Context, ee: EventEmitter): EventEmitter {
  const emit = ee.emit;
  ee.emit = function (this: EventEmitter, ...args: unknown[]) {
    return runWith(context, emit as (...a: unknown[]) => boolean, this, args);
  } as typeof ee.emit;
  return ee;
}
