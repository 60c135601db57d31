// NestJS: routes come through its HTTP adapter (express.ts for platform-express, fastify.ts for
// platform-fastify), since Nest registers each route on Express or Fastify with its full path.
// Errors do not: Nest catches what a controller, guard, pipe or interceptor throws and answers
// through its own exception filters, so Express and Fastify never see them. ExceptionsHandler.next
// is where every such exception of an HTTP request arrives, before any filter.
import { wrap } from '../patch.js';
import { reportInternal } from '../../report.js';
import { noteHandlerError, supported } from './support.js';
import { watchForBundle } from './bundle-check.js';
import type { ModuleInstrumentation } from '../../hooks.js';

type Fn = (...args: any[]) => any;
interface ArgumentsHost {
  getArgByIndex?(index: number): unknown;
}

function next(original: Fn) {
  return function next(this: unknown, exception: unknown, host: ArgumentsHost | undefined) {
    try {
      const req = host?.getArgByIndex?.(0) as { raw?: unknown } | null | undefined;
      // platform-fastify hands Fastify's request, whose .raw is the IncomingMessage.
      noteHandlerError(req?.raw ?? req, exception);
    } catch (err) {
      reportInternal('nestjs exceptions handler', err);
    }
    return Reflect.apply(original, this, arguments);
  };
}

export const nestjsInstrumentation: ModuleInstrumentation = {
  name: 'nestjs',
  modules: ['@nestjs/core/exceptions/exceptions-handler'],
  setup() {
    watchForBundle('@nestjs/core', /node_modules[\\/]@nestjs[\\/]core[\\/]|["']ExceptionsHandler["']/);
  },
  patch(exports, _moduleName, version) {
    if (!supported('@nestjs/core', version, [10, 11])) return exports;
    const proto = exports?.ExceptionsHandler?.prototype;
    if (proto !== undefined && typeof proto.next === 'function') wrap(proto, 'next', next);
    return exports;
  },
};
