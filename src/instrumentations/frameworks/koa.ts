// Koa with @koa/router: the route is the path of the route layer @koa/router matched, which
// already carries the router's prefix and those of the routers nested into it with use(). Errors
// are taken from app.emit('error', err, ctx): Koa's own handling (ctx.onerror) emits every error
// that leaves the middleware chain there, and Koa's docs ask error middleware to do the same.
//
// The router's dispatch middleware (one per routes() call) leaves its ctx in `dispatching` for the
// match() it calls synchronously first; match() then knows both the ctx and what matched. The
// last route layer matched by path and method is the route, as @koa/router 15 itself decides
// (12–14 picked the last layer, which can be a use() middleware).
import { setServerRoute } from '../http-server.js';
import { wrap } from '../patch.js';
import { reportInternal } from '../../report.js';
import { noteHandlerError, supported } from './support.js';
import { watchForBundle } from './bundle-check.js';
import type { ModuleInstrumentation } from '../../hooks.js';

type Fn = (...args: any[]) => any;
interface KoaContext {
  req?: object;
}
interface RouteLayer {
  path?: unknown;
  methods?: unknown[];
}
interface MatchResult {
  route?: boolean;
  pathAndMethod?: RouteLayer[];
}

let dispatching: KoaContext | undefined;

function routeOf(result: MatchResult | undefined): string | undefined {
  if (result?.route !== true || !Array.isArray(result.pathAndMethod)) return undefined;
  const layers = result.pathAndMethod;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer !== undefined && Array.isArray(layer.methods) && layer.methods.length > 0) return String(layer.path);
  }
  return undefined;
}

function match(original: Fn) {
  return function match(this: unknown) {
    const result = Reflect.apply(original, this, arguments) as MatchResult | undefined;
    const ctx = dispatching;
    if (ctx !== undefined) {
      dispatching = undefined;
      try {
        const route = routeOf(result);
        if (route !== undefined && ctx.req !== undefined) setServerRoute(ctx.req, route);
      } catch (err) {
        reportInternal('@koa/router match', err);
      }
    }
    return result;
  };
}

function wrapDispatch(dispatch: unknown): unknown {
  if (typeof dispatch !== 'function') return dispatch;
  const wrapped = function (this: unknown, ctx: KoaContext) {
    dispatching = ctx !== null && typeof ctx === 'object' ? ctx : undefined;
    try {
      return Reflect.apply(dispatch as Fn, this, arguments);
    } finally {
      dispatching = undefined;
    }
  };
  Object.defineProperty(wrapped, 'name', { value: (dispatch as Fn).name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: (dispatch as Fn).length, configurable: true });
  // `.router` is how router.use(other.routes()) finds the nested router: keep it and the rest.
  return Object.assign(wrapped, dispatch);
}

function middleware(original: Fn) {
  return function middleware(this: unknown) {
    return wrapDispatch(Reflect.apply(original, this, arguments));
  };
}

function routerClass(exports: any): { prototype: Record<string, unknown> } | undefined {
  for (const candidate of [exports, exports?.default, exports?.Router]) {
    if (typeof candidate === 'function' && typeof candidate.prototype?.match === 'function') return candidate;
  }
  return undefined;
}

function appEmit(original: Fn) {
  return function emit(this: unknown, event: unknown, err: unknown, ctx: KoaContext | undefined) {
    if (event === 'error' && ctx !== null && typeof ctx === 'object') noteHandlerError(ctx.req, err);
    return Reflect.apply(original, this, arguments);
  };
}

function applicationClass(exports: any): { prototype: Record<string, unknown> } | undefined {
  for (const candidate of [exports, exports?.default]) {
    if (typeof candidate === 'function' && typeof candidate.prototype?.callback === 'function') return candidate;
  }
  return undefined;
}

export const koaInstrumentation: ModuleInstrumentation = {
  name: 'koa',
  modules: ['@koa/router', 'koa'],
  setup() {
    watchForBundle('@koa/router', /node_modules[\\/]@koa[\\/]router[\\/]|["']koa-router["']/);
  },
  patch(exports, moduleName, version) {
    if (moduleName === 'koa') {
      const Application = supported('koa', version, [2, 3]) ? applicationClass(exports) : undefined;
      if (Application !== undefined && typeof Application.prototype.emit === 'function') wrap(Application.prototype, 'emit', appEmit);
      return exports;
    }
    if (!supported('@koa/router', version, [12, 13, 14, 15])) return exports;
    const Router = routerClass(exports);
    if (Router === undefined) return exports;
    const proto = Router.prototype;
    // 12–14: routes and middleware are one function; 15: routes() calls this.middleware().
    const same = proto.routes === proto.middleware;
    wrap(proto, 'match', match);
    if (typeof proto.middleware === 'function') wrap(proto, 'middleware', middleware);
    if (same && typeof proto.routes === 'function') wrap(proto, 'routes', middleware);
    return exports;
  },
};
