// A recording span. Its public fields are the FinishedSpan shape, so ending a span hands the
// object itself to the processor: no copy per span. Its ids are born as words (ids.ts); their hex
// and its SpanContext are made when first asked for, by propagation, a child, a log line or the
// JSON and Zipkin encoders: a request that calls nothing out formats none (~2,000 instructions of
// a hello-world request on Node 24.22, exported over OTLP/protobuf, which writes the words, with
// the exemplar keeping them for the scrape).
import {
  INVALID_SPANID,
  INVALID_TRACEID,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
  type TraceState,
} from '@opentelemetry/api';
import type { SpanLimits } from '../config.js';
import { mergeAttributes, sanitizeValue } from './attributes.js';
import { now, toEpochMs } from './clock.js';
import { isHexId, newSpanId, newTraceId, spanIdHex, traceIdHex, type SpanIdWords } from './ids.js';
import type { FinishedSpan, InstrumentationScope, Resource, SpanEventData, SpanLinkData } from './types.js';

export interface SpanSink {
  onEnd(span: FinishedSpan): void;
}

const EMPTY: never[] = [];
Object.freeze(EMPTY);
const UNSET_STATUS = Object.freeze({ code: SpanStatusCode.UNSET as number });

/**
 * The context of a span started here, made once per span: a plain object (apps spread and clone
 * it), with `traceState` only when there is one.
 */
function localContext(traceId: string, spanId: string, traceFlags: number, traceState: TraceState | undefined): SpanContext {
  const sc: SpanContext = { traceId, spanId, traceFlags, isRemote: false };
  if (traceState !== undefined) sc.traceState = traceState;
  return sc;
}

export class RecordingSpan implements Span, FinishedSpan {
  name: string;
  readonly kind: number;
  readonly parentSpanId: string | undefined;
  readonly parentIsRemote: boolean;
  readonly traceState: string | undefined;
  readonly startTime: number;
  endTime = 0;
  attributes: Attributes = {};
  droppedAttributesCount = 0;
  events: SpanEventData[] = EMPTY;
  droppedEventsCount = 0;
  links: SpanLinkData[] = EMPTY;
  droppedLinksCount = 0;
  /** Replaced, never changed in place: spans share the UNSET one. */
  status: { readonly code: number; readonly message?: string | undefined } = UNSET_STATUS;
  ended = false;
  /** The parent when it is a span of this process: a crash ends the whole local chain (lifecycle.ts). */
  localParent: RecordingSpan | undefined = undefined;
  private tid: string | undefined;
  private sid: string | undefined = undefined;
  private sc: SpanContext | undefined = undefined;

  /**
   * `idWords`: this span's ids (the tracer's spanIdWords); `traceId`: the same trace id as hex
   * when the tracer already has it (a parent's, or one a ratio sampler read), else undefined.
   */
  constructor(
    readonly idWords: SpanIdWords,
    traceId: string | undefined,
    readonly traceFlags: number,
    private readonly traceStateOf: TraceState | undefined,
    name: string,
    kind: number,
    parent: SpanContext | undefined,
    startTime: number,
    readonly scope: InstrumentationScope,
    readonly resource: Resource,
    private readonly limits: SpanLimits,
    private readonly sink: SpanSink,
  ) {
    this.tid = traceId;
    this.name = name;
    this.kind = kind;
    this.parentSpanId = parent?.spanId;
    this.parentIsRemote = parent?.isRemote === true;
    this.traceState = traceStateOf?.serialize() || undefined;
    this.startTime = startTime;
  }

  get traceId(): string {
    return (this.tid ??= traceIdHex(this.idWords));
  }

  get spanId(): string {
    return (this.sid ??= spanIdHex(this.idWords));
  }

  /** The same object every time, made on the first call. */
  spanContext(): SpanContext {
    return (this.sc ??= localContext(this.traceId, this.spanId, this.traceFlags, this.traceStateOf));
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.ended || key === '') return this;
    const v = sanitizeValue(value, this.limits.attributeValueLengthLimit);
    if (v === undefined) return this;
    // hasOwn, not `in`: a key such as 'constructor' is inherited by every object and would slip past the limit.
    if (!Object.hasOwn(this.attributes, key) && Object.keys(this.attributes).length >= this.limits.attributeCountLimit) {
      this.droppedAttributesCount++;
      return this;
    }
    this.attributes[key] = v;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.ended) return this;
    this.droppedAttributesCount += mergeAttributes(
      this.attributes,
      attributes,
      this.limits.attributeCountLimit,
      this.limits.attributeValueLengthLimit,
    );
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    if (this.limits.eventCountLimit === 0 || this.events.length >= this.limits.eventCountLimit) {
      this.droppedEventsCount++;
      return this;
    }
    let attrs: Attributes | undefined;
    if (isTimeInput(attributesOrTime)) time = attributesOrTime;
    else attrs = attributesOrTime;
    const attributes: Attributes = {};
    const dropped = attrs
      ? mergeAttributes(attributes, attrs, this.limits.attributePerEventCountLimit, this.limits.attributeValueLengthLimit)
      : 0;
    if (this.events === EMPTY) this.events = [];
    this.events.push({
      name: String(name),
      time: time === undefined ? now() : toEpochMs(time),
      attributes,
      droppedAttributesCount: dropped,
    });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    this.pushLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const l of links) this.addLink(l);
    return this;
  }

  /** Links given at creation; also used by addLink. */
  pushLink(link: Link): void {
    const ctx = link?.context;
    if (ctx === undefined || ctx === null) return;
    if (this.links.length >= this.limits.linkCountLimit) {
      this.droppedLinksCount++;
      return;
    }
    const attributes: Attributes = {};
    const dropped = link.attributes
      ? mergeAttributes(attributes, link.attributes, this.limits.attributePerLinkCountLimit, this.limits.attributeValueLengthLimit)
      : 0;
    const traceState = ctx.traceState?.serialize() || undefined;
    // A collector rejects a whole batch over one id of the wrong length, so a malformed id is
    // exported as the invalid (all-zero) one. The spec records a link to an invalid context only
    // when it carries attributes or a tracestate; otherwise it says nothing and is left out.
    let { traceId, spanId } = ctx;
    if (!isHexId(traceId, 32) || !isHexId(spanId, 16)) {
      if (traceState === undefined && Object.keys(attributes).length === 0 && dropped === 0) return;
      traceId = INVALID_TRACEID;
      spanId = INVALID_SPANID;
    }
    if (this.links === EMPTY) this.links = [];
    this.links.push({ traceId, spanId, traceState, traceFlags: ctx.traceFlags, attributes, droppedAttributesCount: dropped });
  }

  setStatus(status: SpanStatus): this {
    if (this.ended) return this;
    // Per the spec: OK is final, and UNSET never overrides a status already set.
    if (this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
        ? { code: status.code, message: status.message }
        : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    const t = endTime === undefined ? now() : toEpochMs(endTime);
    this.endTime = t < this.startTime ? this.startTime : t;
    this.sink.onEnd(this);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.addEvent('exception', exceptionAttributes(exception), time);
  }
}

export function exceptionAttributes(exception: unknown): Attributes {
  const attributes: Attributes = {};
  if (typeof exception === 'string') {
    attributes['exception.message'] = exception;
  } else if (exception !== null && typeof exception === 'object') {
    const e = exception as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
    const type = typeof e.name === 'string' ? e.name : typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
    if (type !== undefined) attributes['exception.type'] = type;
    if (typeof e.message === 'string') attributes['exception.message'] = e.message;
    if (typeof e.stack === 'string') attributes['exception.stacktrace'] = e.stack;
  } else {
    attributes['exception.message'] = String(exception);
  }
  return attributes;
}

function isTimeInput(v: unknown): v is TimeInput {
  return typeof v === 'number' || v instanceof Date || (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number');
}

/**
 * A span started here that records nothing (unsampled, or no exporter): only its context, which
 * it propagates. Ours rather than the API's wrapSpanContext() so that propagation and child
 * spans can tell its ids are valid and lower-case without testing them (isLocalSpan).
 *
 * Its ids are drawn when its context is first asked for (propagation, a child span, a log line),
 * then kept: with export off, a request that calls nothing and logs nothing draws none. That was
 * ~2,100 of the ~9,700 instructions periscope added to a hello-world request on Node 24.22.
 */
export class UnsampledSpan implements Span {
  private sc: SpanContext | undefined = undefined;

  /** `traceId`: the parent's, or one the sampler read; undefined for a root whose id is not drawn yet. */
  constructor(
    private readonly traceId: string | undefined,
    private readonly traceFlags: number,
    private readonly traceState: TraceState | undefined,
  ) {}

  spanContext(): SpanContext {
    return (this.sc ??= localContext(this.traceId ?? newTraceId(), newSpanId(), this.traceFlags, this.traceState));
  }

  setAttribute(): this {
    return this;
  }

  setAttributes(): this {
    return this;
  }

  addEvent(): this {
    return this;
  }

  addLink(): this {
    return this;
  }

  addLinks(): this {
    return this;
  }

  setStatus(): this {
    return this;
  }

  updateName(): this {
    return this;
  }

  end(): void {}

  isRecording(): boolean {
    return false;
  }

  recordException(): void {}
}

/** A span our tracer started: its context's ids are valid and lower-case by construction. */
export function isLocalSpan(span: Span | undefined): span is RecordingSpan | UnsampledSpan {
  return span instanceof RecordingSpan || span instanceof UnsampledSpan;
}
