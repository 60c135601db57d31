// The exporters' HTTP/1.1 client for a plain-http collector, written on node:net.
//
// Why not node:http: the app's own requests run through node:http's functions (OutgoingMessage,
// IncomingMessage, the parser's callbacks, the emit hooks). When the export's POSTs and their
// answers ran through the same functions, V8's feedback for them saw more kinds of objects and
// its code for the app's requests got slower (megamorphic property accesses, mostly): on Node 24,
// hello-world with full export executed 68,887 instructions a request sending through node:http
// and 64,532 through this client (benchmarks/instructions.mjs), a quarter of what full export
// adds. A POST here touches only the socket. https stays on node:https, whose TLS handling is not
// ours to redo.
//
// What it does: one request at a time per connection; keep-alive connections kept for the next
// batch (unref'd: an export never holds the process open); answers framed by Content-Length,
// chunked transfer coding or the end of the connection; the first bytes of the body kept for an
// error message, the rest drained.
import { connect, type Socket } from 'node:net';

export interface Http1Answer {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The start of the body, at most `keepBody` bytes. */
  readonly body: Buffer;
}

export type Http1Callback = (err: Error | undefined, answer?: Http1Answer) => void;

const MAX_HEAD_BYTES = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

interface Target {
  readonly host: string;
  readonly port: number;
  /** `host:port`, the key of its kept connections. */
  readonly key: string;
  /** `POST <path> HTTP/1.1`, ready to write. */
  readonly requestLine: string;
  readonly hostHeader: string;
}

export class Http1Connections {
  /** Kept connections by `host:port`: the shared default serves every exporter's URL. */
  private readonly idle = new Map<string, Socket[]>();
  private readonly live = new Set<Socket>();
  private readonly targets = new Map<string, Target>();
  private destroyed = false;

  constructor(private readonly keepBody = 512) {}

  /**
   * POSTs `payload` to the http: URL with `headers`; `done` is called exactly once. Throws, before
   * anything is sent, for a URL or header that cannot be written. Returns a function that aborts.
   */
  post(url: string, headers: Readonly<Record<string, string>>, payload: Uint8Array, done: Http1Callback): () => void {
    const target = this.targetOf(url);
    let head = target.requestLine;
    let host = target.hostHeader;
    for (const name in headers) {
      const value = headers[name]!;
      if (!TOKEN.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
      if (BAD_VALUE.test(value)) throw new Error(`invalid character in the value of header ${name}`);
      // A Host of the user's replaces the URL's, as with node:http.
      if (name.toLowerCase() === 'host') host = value;
      else head += `${name}: ${value}\r\n`;
    }
    head += `Host: ${host}\r\n\r\n`;
    let exchange: Exchange | undefined;
    let aborted = false;
    const attempt = (socket: Socket, reused: boolean): void => {
      exchange = new Exchange(socket, this.keepBody, (err, answer, keepAlive) => {
        exchange = undefined;
        // An answer that came before the whole request was written (a collector that did not
        // read it) leaves the connection mid-request, and the payload still being written: the
        // connection is closed, which also stops any further read of the payload's memory (a
        // batch the collector accepted is recycled, otlp-proto.ts).
        if (err === undefined && keepAlive && socket.writableLength === 0) this.release(target, socket);
        else this.discard(socket);
        // A kept connection the collector had already closed fails before any byte of an
        // answer: that says nothing about this batch, so it goes once more on a new connection.
        if (err instanceof NoAnswer && reused && !aborted && !this.destroyed) return attempt(this.open(target), false);
        done(err instanceof NoAnswer ? err.reason : err, answer);
      });
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(payload);
      socket.uncork();
    };
    const kept = this.idle.get(target.key)?.pop();
    attempt(kept ?? this.open(target), kept !== undefined);
    return () => {
      aborted = true;
      exchange?.abort(new Error('aborted'));
    };
  }

  /** Closes every connection, idle or busy; a busy one's POST fails. */
  destroy(): void {
    this.destroyed = true;
    for (const socket of this.live) socket.destroy();
    this.live.clear();
    this.idle.clear();
  }

  private targetOf(url: string): Target {
    let target = this.targets.get(url);
    if (target !== undefined) return target;
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`not an http: URL: ${url}`);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port || 80);
    target = { host, port, key: `${host}:${port}`, requestLine: `POST ${u.pathname}${u.search} HTTP/1.1\r\n`, hostHeader: u.host };
    if (this.targets.size >= 16) this.targets.clear(); // exporters have one URL each; stay bounded anyway
    this.targets.set(url, target);
    return target;
  }

  private open(target: Target): Socket {
    const socket = connect({ host: target.host, port: target.port });
    socket.unref();
    socket.setNoDelay(true);
    this.live.add(socket);
    socket.on('close', () => this.discard(socket));
    // Errors reach the exchange that owns the socket; an idle socket's error only closes it.
    socket.on('error', () => {});
    return socket;
  }

  private release(target: Target, socket: Socket): void {
    if (!this.live.has(socket) || socket.destroyed) return;
    const list = this.idle.get(target.key);
    if (list === undefined) this.idle.set(target.key, [socket]);
    else list.push(socket);
  }

  private discard(socket: Socket): void {
    if (this.live.delete(socket)) {
      for (const list of this.idle.values()) {
        const i = list.indexOf(socket);
        if (i >= 0) list.splice(i, 1);
      }
    }
    socket.destroy();
  }
}

/** The connection ended or was reset before the first byte of an answer. */
class NoAnswer extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
  }
}

const RESET = new Set(['ECONNRESET', 'EPIPE']);

/** One request's answer, read off its socket. */
class Exchange {
  private pending: Buffer = Buffer.alloc(0);
  private status = 0;
  private headers: Record<string, string> = {};
  private body: Buffer[] = [];
  private bodyKept = 0;
  private gotBytes = false;
  private ended = false;
  /** Framing of the body once the head is read: bytes left, chunked, or until close. */
  private mode: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close' = 'head';
  private left = 0;
  private keepAlive = true;
  private readonly onData = (chunk: Buffer): void => this.feed(chunk);
  private readonly onEnd = (): void => this.closed(undefined);
  private readonly onError = (err: Error): void => this.closed(err);

  constructor(
    private readonly socket: Socket,
    private readonly keepBody: number,
    private readonly done: (err: Error | undefined, answer: Http1Answer | undefined, keepAlive: boolean) => void,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  abort(err: Error): void {
    this.finish(err);
    this.socket.destroy();
  }

  private closed(err: Error | undefined): void {
    if (this.ended) return;
    if (this.mode === 'close' && err === undefined) return this.finish(undefined);
    if (this.gotBytes) return this.finish(err ?? new Error('the collector closed the connection mid-answer'));
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.finish(err === undefined || (code !== undefined && RESET.has(code)) ? new NoAnswer(err ?? new Error('socket hang up')) : err);
  }

  private finish(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
    if (err !== undefined) return this.done(err, undefined, false);
    this.done(undefined, { status: this.status, headers: this.headers, body: Buffer.concat(this.body) }, this.keepAlive);
  }

  private feed(chunk: Buffer): void {
    this.gotBytes = true;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      while (!this.ended && this.step());
    } catch (err) {
      this.abort(err as Error);
    }
  }

  /** Consumes what it can of `pending`; false when it needs more bytes. */
  private step(): boolean {
    const buf = this.pending;
    switch (this.mode) {
      case 'head': {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) throw new Error('the collector answered with an oversized head');
          return false;
        }
        this.readHead(buf.toString('latin1', 0, end));
        this.pending = buf.subarray(end + 4);
        return true;
      }
      case 'length':
        if (this.consume(buf)) this.finish(undefined);
        return false;
      case 'close':
        this.keep(buf);
        this.pending = buf.subarray(buf.length);
        return false;
      case 'chunk-size': {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        const size = parseInt(buf.toString('latin1', 0, eol).split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error('the collector answered with a malformed chunk');
        this.pending = buf.subarray(eol + 2);
        this.left = size;
        this.mode = size === 0 ? 'trailers' : 'chunk-data';
        return true;
      }
      case 'chunk-data':
        if (!this.consume(buf)) return false;
        this.mode = 'chunk-crlf';
        return true;
      case 'chunk-crlf':
        if (buf.length < 2) return false;
        this.pending = buf.subarray(2);
        this.mode = 'chunk-size';
        return true;
      case 'trailers': {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        this.pending = buf.subarray(eol + 2);
        if (eol === 0) this.finish(undefined);
        return true;
      }
    }
  }

  private readHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (m === null) throw new Error(`the collector answered something other than HTTP/1.x: ${JSON.stringify(lines[0]!.slice(0, 40))}`);
    const status = Number(m[2]);
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (status >= 100 && status < 200) return;
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':');
      if (colon <= 0) continue;
      const name = lines[i]!.slice(0, colon).trim().toLowerCase();
      const value = lines[i]!.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    this.status = status;
    this.headers = headers;
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      this.mode = 'chunk-size';
    } else if (headers['content-length'] !== undefined) {
      this.left = Number(headers['content-length']);
      if (!Number.isSafeInteger(this.left) || this.left < 0) throw new Error('the collector answered with a malformed Content-Length');
      this.mode = 'length';
      if (this.left === 0) this.finish(undefined);
    } else if (status === 204 || status === 304) {
      this.finish(undefined);
    } else {
      this.mode = 'close';
      this.keepAlive = false;
    }
  }

  /** Takes up to `left` body bytes off `buf`; true once none are left. */
  private consume(buf: Buffer): boolean {
    const n = Math.min(this.left, buf.length);
    this.keep(buf.subarray(0, n));
    this.left -= n;
    this.pending = buf.subarray(n);
    return this.left === 0;
  }

  private keep(bytes: Buffer): void {
    if (this.bodyKept >= this.keepBody || bytes.length === 0) return;
    const part = bytes.subarray(0, this.keepBody - this.bodyKept);
    this.body.push(Buffer.from(part));
    this.bodyKept += part.length;
  }
}
