// Node emits the events of req, res and the client's request/response from the socket's parser,
// i.e. in the async context of the connection, not of the request. One once-only patch of
// `emit` on their prototypes runs listeners in the request's context and tells the request's
// record about lifecycle events — no per-request listeners or closures.
import http from 'node:http';
import type { Context } from '@opentelemetry/api';
import { runWith } from '../telemetry/context.js';
import { wrap } from './patch.js';
import { reportInternal } from '../report.js';
import { slot } from './slot.js';

export interface EmitterRecord {
  /** Context the emitter's listeners run in. */
  readonly ctx: Context;
  /**
   * Called before the listeners with the event and its first argument, for lifecycle events
   * only (isLifecycle below). Must not throw (it is guarded anyway).
   */
  onEvent(emitter: object, event: string | symbol, arg: unknown): void;
  /**
   * How many of the emitter's listeners for this event Node attached itself before the app saw
   * the object (a server response's 'finish', a request's 'end'): they need no context.
   */
  nodeListeners(emitter: object, event: string | symbol): number;
}

const records = slot<EmitterRecord>('periscope.exchange');

export function track(emitter: object, record: EmitterRecord): void {
  records.set(emitter, record);
}

export function recordOf(emitter: object): EmitterRecord | undefined {
  return records.get(emitter);
}

/** The events that end an exchange or move it on: the only ones an EmitterRecord hears about. */
const isLifecycle = (event: string | symbol): boolean =>
  event === 'finish' || event === 'close' || event === 'end' || event === 'error' || event === 'response' || event === 'aborted';

/** An emitter's listeners for one event, as EventEmitter keeps them (Node 20–26). */
type Listeners = ((...args: unknown[]) => unknown) | readonly unknown[] | undefined;

/**
 * `viaReq`: the emitters are server responses, whose record is their request's (`res.req`, set by
 * Node since 15.7): one slot per server exchange instead of two. Known per patched prototype, so
 * the emit asks no `instanceof`.
 */
function hookedEmit(viaReq: boolean) {
  return (original: (...args: unknown[]) => boolean) =>
    function emit(this: object, event: string | symbol) {
      // Half of a hello-world request's 8 hooked emits ('socket', 'prefinish', 'readable',
      // 'resume') have no listener and end nothing: they leave before the record is looked up.
      // The count read from `_events` as EventEmitter#listenerCount() reads it: the method's own
      // look-up on these many-shaped emitters, and the call, cost more than the count.
      const events = (this as { _events?: Record<string | symbol, Listeners> })._events;
      const l = events === undefined ? undefined : events[event];
      const listeners = l === undefined ? 0 : typeof l === 'function' ? 1 : l.length;
      const lifecycle = isLifecycle(event);
      if (listeners === 0 && !lifecycle) return Reflect.apply(original, this, arguments);
      const record = records.get(viaReq ? ((this as http.ServerResponse).req ?? this) : this);
      if (record === undefined) return Reflect.apply(original, this, arguments);
      if (lifecycle) {
        try {
          record.onEvent(this, event, arguments[1]);
        } catch (err) {
          reportInternal('emit hook', err);
        }
      }
      // Entering a context costs more than the emit itself (a new AsyncContextFrame on Node 24);
      // with only Node's own listeners there is no app code to run in it ('error' excepted:
      // unheard, it throws, and the crash monitor looks for the active span). Of a hello-world
      // request's 8 hooked emits, 2 have listeners, both Node's. onEvent adds no listener, so the
      // count taken before it holds.
      if (event !== 'error' && (listeners === 0 || listeners <= record.nodeListeners(this, event))) return Reflect.apply(original, this, arguments);
      return runWith(record.ctx, original, this, arguments as unknown as unknown[]);
    };
}

/** The server and client instrumentations both ask for it; wrap() patches each prototype once. */
export function enableEmitHooks(): void {
  wrap(http.IncomingMessage.prototype, 'emit', hookedEmit(false));
  wrap(http.ServerResponse.prototype, 'emit', hookedEmit(true));
  wrap(http.ClientRequest.prototype, 'emit', hookedEmit(false));
}
