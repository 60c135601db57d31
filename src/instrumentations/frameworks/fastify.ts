// Fastify 4 and 5 through the diagnostics channels Fastify publishes; nothing is patched and no
// module hook is needed, so a bundled Fastify is covered too.
// - Fastify 5 publishes tracing:fastify.request.handler around each route handler: `start` carries
//   route.url (the template, prefixes included), `error` the handler's exception.
// - Fastify 4 publishes only fastify.initialization with each new instance; an onRequest hook
//   (request.routeOptions.url) is added to it there, before any route. A handler's error reaches
//   either the default error handler (then the onError hook, added too) or one the app set with
//   setErrorHandler, which the instance's setErrorHandler wraps as it registers it.
import dc from 'node:diagnostics_channel';
import { setServerRoute } from '../http-server.js';
import { wrap } from '../patch.js';
import { reportInternal } from '../../report.js';
import { noteHandlerError, supported } from './support.js';
import type { ModuleInstrumentation } from '../../hooks.js';

interface FastifyRequest {
  raw?: object;
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}
interface FastifyInstance {
  version?: unknown;
  addHook?(name: string, fn: (...args: any[]) => void): unknown;
}
interface HandlerStore {
  request?: FastifyRequest;
  route?: { url?: unknown };
  error?: unknown;
}

function onInitialization(message: unknown): void {
  try {
    const app = (message as { fastify?: FastifyInstance } | null)?.fastify;
    if (app === undefined || app === null) return;
    const version = typeof app.version === 'string' ? app.version : undefined;
    if (!supported('fastify', version, [4, 5])) return;
    // Fastify 5 publishes the handler channel: nothing to add.
    if (Number.parseInt(version as string, 10) !== 4 || typeof app.addHook !== 'function') return;
    app.addHook('onRequest', onRequest);
    app.addHook('onError', onError);
    if (typeof (app as { setErrorHandler?: unknown }).setErrorHandler === 'function') wrap(app, 'setErrorHandler', setErrorHandler);
  } catch (err) {
    reportInternal('fastify initialization', err);
  }
}

function onRequest(request: FastifyRequest, _reply: unknown, done: () => void): void {
  try {
    // routeOptions since 4.10 (routerPath before it, deprecated after); url is undefined for 404.
    const url = 'routeOptions' in request ? request.routeOptions?.url : request.routerPath;
    if (typeof url === 'string' && request.raw !== undefined) setServerRoute(request.raw, url);
  } catch (err) {
    reportInternal('fastify onRequest', err);
  }
  done();
}

function onError(request: FastifyRequest, _reply: unknown, error: unknown, done: () => void): void {
  noteHandlerError(request.raw, error);
  done();
}

type Fn = (...args: any[]) => any;

// Once per setErrorHandler call, not per request.
function setErrorHandler(original: Fn) {
  return function setErrorHandler(this: unknown, handler: unknown) {
    if (typeof handler !== 'function') return Reflect.apply(original, this, arguments);
    const errorHandler = function (this: unknown, error: unknown, request: FastifyRequest | undefined) {
      noteHandlerError(request?.raw, error);
      return Reflect.apply(handler as Fn, this, arguments);
    };
    return Reflect.apply(original, this, [errorHandler, ...Array.prototype.slice.call(arguments, 1)]);
  };
}

function onHandlerStart(message: unknown): void {
  const store = message as HandlerStore;
  const url = store.route?.url;
  const raw = store.request?.raw;
  if (typeof url === 'string' && raw !== undefined) setServerRoute(raw, url);
}

function onHandlerError(message: unknown): void {
  const store = message as HandlerStore;
  noteHandlerError(store.request?.raw, store.error);
}

export const fastifyInstrumentation: ModuleInstrumentation = {
  name: 'fastify',
  modules: [],
  patch: (exports) => exports,
  setup() {
    // dc.subscribe (not channel().subscribe): it holds the channel strongly on every Node we support.
    dc.subscribe('fastify.initialization', onInitialization);
    dc.subscribe('tracing:fastify.request.handler:start', onHandlerStart);
    dc.subscribe('tracing:fastify.request.handler:error', onHandlerError);
  },
};
