// winston 3: the ids go into the info object as it enters the logger (Logger.prototype.write,
// which log(), the level methods, child loggers and profile() all go through), in the caller's
// context and before any format runs: json() prints them, printf() and custom formats read
// info.trace_id like any other field, and per-transport formats see them too. Writing later (in
// _transform) would be wrong: under back-pressure winston transforms in another turn.
import { addLogIds } from './correlation.js';
import { wrap } from '../patch.js';
import { debug } from '../../diag.js';
import type { ModuleInstrumentation } from '../../hooks.js';

function loggerClass(exports: any): any {
  // require('winston') has Logger; the import hook's namespace has it as a named export and on default.
  return exports?.Logger ?? exports?.default?.Logger;
}

export const winstonInstrumentation: ModuleInstrumentation = {
  name: 'winston',
  modules: ['winston'],
  patch(exports, _name, version) {
    const Logger = loggerClass(exports);
    const major = version === undefined ? undefined : Number(version.split('.')[0]);
    if (typeof Logger !== 'function' || typeof Logger.prototype?.write !== 'function' || (major !== undefined && major < 3)) {
      debug(`winston ${version ?? '?'}: not winston 3; its records are not correlated`);
      return exports;
    }
    wrap(Logger.prototype, 'write', (original: (...args: unknown[]) => boolean) =>
      function write(this: unknown, info: unknown) {
        addLogIds(info);
        return Reflect.apply(original, this, arguments);
      },
    );
    return exports;
  },
};
