// Express 4 (its router in express/lib/router) and Express 5 (the `router` package): the route
// template a request matched, joined with the mount paths of the routers and sub-apps it passed
// through, and the errors that reach Express's error handling.
//
// How the prefix travels without a property on req or a closure per request: Express calls a
// mounted router synchronously from the mount layer's handle_request, so the layer leaves its
// prefix in `entering` for Router.handle to pick up; the router's first layer call then files
// that prefix under the router's own per-request `next` function, which Express passes to every
// layer of that router. A route layer reads its prefix from that `next` and joins its path.
import { recordOf } from '../emit-hooks.js';
import { setServerRoute } from '../http-server.js';
import { wrap } from '../patch.js';
import { reportInternal } from '../../report.js';
import { slot } from '../slot.js';
import { markSeen, noteHandlerError, supported } from './support.js';
import { watchForBundle } from './bundle-check.js';
import type { ModuleInstrumentation } from '../../hooks.js';

interface Layer {
  route?: { path?: unknown } | undefined;
}
type Fn = (...args: any[]) => any;

/** Layers added by Router#use → their mount path as a template prefix ('' at the root). */
const mounts = new WeakMap<object, string>();
/** A router's `next` for one request → the route prefix of that router. */
const prefixes = slot<string>('periscope.express.prefix');
/** req → prefix of the router it entered last, until that router calls its first layer. */
const entered = slot<string>('periscope.express.entered');
/** The full prefix of the mount layer being called right now, for the Router.handle it calls. */
let entering: string | undefined;

function templateOf(path: unknown): string {
  if (typeof path === 'string') return path;
  // One layer for several paths: which one matched is not kept by Express, so all are named.
  if (Array.isArray(path)) return path.map(templateOf).join(',');
  return String(path);
}

/** The path argument of use(), as Express reads it, as a prefix without a trailing slash. */
function mountTemplate(first: unknown): string {
  let arg = first;
  while (Array.isArray(arg) && arg.length !== 0) arg = arg[0];
  if (typeof arg === 'function') return '';
  const t = templateOf(first);
  return t.endsWith('/') ? t.slice(0, -1) : t;
}

export function joinRoute(prefix: string, path: unknown): string {
  const p = templateOf(path);
  if (prefix === '') return p === '' ? '/' : p;
  return p === '/' || p === '' ? prefix : prefix + p;
}

function prefixOf(req: object, next: unknown): string {
  if (typeof next !== 'function') return '';
  let p = prefixes.get(next as Fn);
  if (p === undefined) {
    p = entered.get(req) ?? '';
    prefixes.set(next as Fn, p);
  }
  return p;
}

function routerUse(original: Fn) {
  return function use(this: { stack?: unknown }) {
    const stack = this.stack;
    const before = Array.isArray(stack) ? stack.length : -1;
    const result = Reflect.apply(original, this, arguments);
    try {
      if (before >= 0 && this.stack === stack) {
        const mount = mountTemplate(arguments[0]);
        const layers = stack as object[];
        for (let i = before; i < layers.length; i++) mounts.set(layers[i] as object, mount);
      }
    } catch (err) {
      reportInternal('express use', err);
    }
    return result;
  };
}

function routerHandle(original: Fn) {
  return function handle(this: unknown, req: unknown, _res: unknown, out: unknown) {
    const prefix = entering ?? (typeof out === 'function' ? prefixes.get(out as Fn) : undefined) ?? '';
    entering = undefined;
    if (req !== null && typeof req === 'object') entered.set(req, prefix);
    return Reflect.apply(original, this, arguments);
  };
}

function layerHandle(original: Fn) {
  return function handle(this: Layer, req: object, _res: unknown, next: unknown) {
    let mounted: string | undefined;
    try {
      const mount = mounts.get(this);
      const route = this.route;
      if (mount !== undefined) mounted = prefixOf(req, next) + mount;
      else if (route !== undefined && route !== null) setServerRoute(req, joinRoute(prefixOf(req, next), route.path));
    } catch (err) {
      reportInternal('express layer', err);
    }
    entering = mounted;
    try {
      return Reflect.apply(original, this, arguments);
    } finally {
      entering = undefined;
    }
  };
}

function layerHandleError(original: Fn) {
  return function handleError(this: Layer, error: unknown, req: unknown) {
    entering = undefined;
    noteHandlerError(req, error);
    return Reflect.apply(original, this, arguments);
  };
}

function patchRouter(proto: unknown): void {
  if (proto === null || (typeof proto !== 'object' && typeof proto !== 'function')) return;
  const p = proto as Record<string, unknown>;
  if (typeof p.use !== 'function' || typeof p.handle !== 'function') return;
  wrap(p, 'use', routerUse);
  wrap(p, 'handle', routerHandle);
}

function patchLayer(Layer: unknown, request: string, error: string): void {
  const proto = (Layer as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (proto === undefined || typeof proto[request] !== 'function' || typeof proto[error] !== 'function') return;
  wrap(proto, request, layerHandle);
  wrap(proto, error, layerHandleError);
}

const FINAL = Symbol.for('periscope.wrapped');

// finalhandler answers the errors no error middleware took. Its function for the request is a
// closure of its own, so ours wraps it, only for requests that have a server span.
function patchFinalhandler(original: unknown): unknown {
  if (typeof original !== 'function' || (original as { [FINAL]?: boolean })[FINAL] === true) return original;
  const finalhandler = function (this: unknown, req: unknown) {
    const done = Reflect.apply(original as Fn, this, arguments);
    if (typeof done !== 'function' || req === null || typeof req !== 'object' || recordOf(req) === undefined) return done;
    return function (this: unknown, err?: unknown) {
      if (err !== undefined && err !== null) noteHandlerError(req, err);
      return Reflect.apply(done as Fn, this, arguments);
    };
  };
  Object.defineProperty(finalhandler, 'name', { value: (original as Fn).name, configurable: true });
  Object.defineProperty(finalhandler, 'length', { value: (original as Fn).length, configurable: true });
  Object.defineProperty(finalhandler, FINAL, { value: true });
  return Object.assign(finalhandler, original);
}

export const expressInstrumentation: ModuleInstrumentation = {
  name: 'express',
  // A package's own files are named as require-in-the-middle names them: no .js, no /index.
  modules: ['express/lib/router', 'express/lib/router/layer', 'router', 'router/lib/layer', 'finalhandler'],
  setup() {
    // esbuild keeps `// node_modules/express/…` comments; minifiers keep debug's namespaces.
    watchForBundle('express', /node_modules[\\/]express[\\/]|["']express:(?:router|application)["']/);
  },
  patch(exports, moduleName, version) {
    switch (moduleName) {
      case 'express/lib/router': // Express 4: the exported function is the routers' prototype
        if (supported('express', version, [4])) patchRouter(exports);
        return exports;
      case 'express/lib/router/layer':
        if (supported('express', version, [4])) patchLayer(exports, 'handle_request', 'handle_error');
        return exports;
      case 'router': // Express 5
        markSeen('express');
        if (supported('router', version, [2])) patchRouter((exports as { prototype?: unknown } | undefined)?.prototype);
        return exports;
      case 'router/lib/layer':
        if (supported('router', version, [2])) patchLayer(exports, 'handleRequest', 'handleError');
        return exports;
      case 'finalhandler':
        return supported('finalhandler', version, [1, 2]) ? patchFinalhandler(exports) : exports;
      default:
        return exports;
    }
  },
};
