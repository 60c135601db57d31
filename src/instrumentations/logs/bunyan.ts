// bunyan: _emit(rec) receives the record bunyan has just built (a fresh object, fields of the
// logger and its children, serializers applied) before it is stringified for each stream, so the
// ids reach raw streams, JSON streams and dtrace probes alike.
import { addLogIds } from './correlation.js';
import { wrap } from '../patch.js';
import { debug } from '../../diag.js';
import type { ModuleInstrumentation } from '../../hooks.js';

export const bunyanInstrumentation: ModuleInstrumentation = {
  name: 'bunyan',
  modules: ['bunyan'],
  patch(exports, _name, version) {
    // require('bunyan') is the Logger class; the import hook's namespace has it as default.
    const Logger = typeof exports === 'function' ? exports : exports?.default;
    if (typeof Logger !== 'function' || typeof Logger.prototype?._emit !== 'function') {
      debug(`bunyan ${version ?? '?'}: no Logger.prototype._emit; its records are not correlated`);
      return exports;
    }
    wrap(Logger.prototype, '_emit', (original: (...args: unknown[]) => unknown) =>
      function _emit(this: unknown, rec: unknown) {
        addLogIds(rec);
        return Reflect.apply(original, this, arguments);
      },
    );
    return exports;
  },
};
