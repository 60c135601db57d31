// pino: every logger the factory makes gets trace ids through pino's own `mixin` slot, read by
// pino on each write. The slot becomes an accessor that answers the app's own mixin (or none)
// outside a span, so a record logged outside a span goes through exactly the code path it would
// without periscope, and a mixin that adds the ids inside one. Child loggers inherit the slot.
// Merge order, innermost first: our ids, then the app's mixin, then the object passed at the call
// site (pino's mixinMergeStrategy decides that last step); a record that already has any of the
// three keys is left as the app made it.
//
// pino's transports serialise in the app's thread and only write in a worker
// (thread-stream), so the ids are in the line before it leaves; periscope itself stays off in
// that worker (process-guard.ts).
import { activeLogIds, hasLogIds, inSpan } from './correlation.js';
import { reportInternal } from '../../report.js';
import { debug } from '../../diag.js';
import type { ModuleInstrumentation } from '../../hooks.js';

const WRAPPED = Symbol.for('periscope.wrapped');
const CORRELATED = Symbol.for('periscope.logs.correlated');

type Mixin = (mergeObject: unknown, level: number, logger: unknown) => unknown;

function correlate(logger: unknown, mixinSym: symbol): void {
  if (logger === null || typeof logger !== 'object' || Object.prototype.hasOwnProperty.call(logger, CORRELATED)) return;
  const slot = Object.getOwnPropertyDescriptor(logger, mixinSym);
  if (slot !== undefined && (!slot.configurable || !('value' in slot))) return;
  let theirs = slot?.value as Mixin | undefined;
  const withIds = function mixin(this: unknown, mergeObject: unknown) {
    const own = theirs === undefined ? undefined : Reflect.apply(theirs, this, arguments);
    const ids = activeLogIds();
    if (ids === undefined || hasLogIds(mergeObject) || hasLogIds(own)) return own ?? {};
    return own === null || typeof own !== 'object' ? ids : Object.assign(ids, own);
  };
  Object.defineProperty(logger, mixinSym, {
    configurable: true,
    enumerable: slot?.enumerable ?? false,
    get: () => (inSpan() ? withIds : theirs),
    set: (v: Mixin | undefined) => {
      theirs = v;
    },
  });
  Object.defineProperty(logger, CORRELATED, { value: true });
}

function wrapFactory(original: any): any {
  if (typeof original !== 'function' || original[WRAPPED] === true) return original;
  const mixinSym: unknown = original.symbols?.mixinSym;
  if (typeof mixinSym !== 'symbol') {
    debug('pino: no symbols.mixinSym in this version; its records are not correlated');
    return original;
  }
  const wrapped = function pino(this: unknown) {
    const logger = Reflect.apply(original, this, arguments);
    try {
      correlate(logger, mixinSym);
    } catch (err) {
      reportInternal('pino', err);
    }
    return logger;
  };
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'length' || key === 'name' || key === 'prototype' || key === 'arguments' || key === 'caller') continue;
    const d = Object.getOwnPropertyDescriptor(original, key) as PropertyDescriptor;
    // `pino.default` and `pino.pino` are the factory itself (for `import pino from` / `{ pino }`).
    if ('value' in d && d.value === original) d.value = wrapped;
    Object.defineProperty(wrapped, key, d);
  }
  Object.defineProperty(wrapped, 'length', { value: original.length, configurable: true });
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  return wrapped;
}

export const pinoInstrumentation: ModuleInstrumentation = {
  name: 'pino',
  modules: ['pino'],
  patch(exports) {
    // require('pino'): the factory itself.
    if (typeof exports === 'function') return wrapFactory(exports);
    // import pino from 'pino' (the import hook's namespace): swap the default and named bindings.
    if (exports !== null && typeof exports === 'object' && typeof exports.default === 'function') {
      const original = exports.default;
      const wrapped = wrapFactory(original);
      if (wrapped !== original) exports.default = wrapped;
      if (exports.pino === original) exports.pino = wrapped;
    }
    return exports;
  },
};
