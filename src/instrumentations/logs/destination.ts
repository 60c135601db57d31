// A line writer that never blocks the event loop (SonicBoom's model): a line goes to fs.write
// at once when nothing is in flight; lines that arrive meanwhile wait in memory and leave
// together with the next write. Writes end on line boundaries and, to a pipe or socket, stay
// within PIPE_BUF (4096 bytes on Linux), which the kernel writes atomically: an app that shares
// stdout with the access log never sees its own lines cut into ours. What is still queued when
// the process exits leaves synchronously from 'exit'.
import { closeSync, fstatSync, write, writeSync } from 'node:fs';

const PIPE_BUF = 4096;
const FILE_CHUNK = 64 * 1024;
/** Past this much waiting (a reader that stopped reading), new lines are dropped and counted. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
const EXIT_DEADLINE_MS = 500;

export class LineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing = false;
  /** A chunk waiting to be retried after EAGAIN: it is ours, not the thread pool's, at exit. */
  private retry: { buf: Buffer; offset: number } | undefined;
  private readonly chunkLimit: number;
  dropped = 0;

  constructor(
    private fd: number,
    private readonly ownsFd: boolean,
    private readonly onTrouble: (kind: 'slow' | 'failed', message: string) => void,
  ) {
    let shared = false;
    try {
      const st = fstatSync(fd);
      shared = st.isFIFO() || st.isSocket() || st.isCharacterDevice();
    } catch {
      // Unknown: the small chunk is always safe.
      shared = true;
    }
    this.chunkLimit = shared ? PIPE_BUF : FILE_CHUNK;
  }

  write(line: string): void {
    if (this.fd < 0) return;
    const bytes = Buffer.byteLength(line);
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES) {
      this.dropped++;
      this.onTrouble('slow', `the destination is not keeping up; lines are dropped (${this.dropped} so far)`);
      return;
    }
    this.pending.push(line);
    this.pendingBytes += bytes;
    if (!this.writing) this.next();
  }

  /** Waiting lines, for tests and the exit flush. */
  get queued(): number {
    return this.pending.length;
  }

  private take(): Buffer {
    let n = 0;
    let bytes = 0;
    for (const line of this.pending) {
      const b = Buffer.byteLength(line);
      if (n > 0 && bytes + b > this.chunkLimit) break;
      bytes += b;
      n++;
    }
    const lines = this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    return Buffer.from(n === 1 ? (lines[0] as string) : lines.join(''));
  }

  private next(): void {
    if (this.pending.length === 0 || this.fd < 0) {
      this.writing = false;
      return;
    }
    this.writing = true;
    this.send(this.take(), 0);
  }

  private send(buf: Buffer, offset: number): void {
    write(this.fd, buf, offset, buf.length - offset, null, (err, n) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          // A non-blocking pipe that is full: try again shortly. Unref'd: a stuck reader must not
          // keep the process alive (the exit flush tries once more).
          this.retry = { buf, offset };
          setTimeout(() => {
            const r = this.retry;
            this.retry = undefined;
            if (r !== undefined) this.send(r.buf, r.offset);
          }, 10).unref();
          return;
        }
        this.onTrouble('failed', `writing failed (${(err as NodeJS.ErrnoException).code ?? err.message}); access logging stopped`);
        this.stop();
        return;
      }
      if (offset + n < buf.length) this.send(buf, offset + n);
      else this.next();
    });
  }

  /**
   * From 'exit': whatever waits leaves now. A chunk already handed to the thread pool is not
   * written again (it may be half written; writing it twice would duplicate lines).
   */
  flushSync(): void {
    if (this.fd < 0) return;
    const deadline = Date.now() + EXIT_DEADLINE_MS;
    const r = this.retry;
    this.retry = undefined;
    if (r !== undefined && !this.writeAllSync(r.buf, r.offset, deadline)) return;
    while (this.pending.length > 0) if (!this.writeAllSync(this.take(), 0, deadline)) return;
  }

  private writeAllSync(buf: Buffer, offset: number, deadline: number): boolean {
    while (offset < buf.length) {
      try {
        offset += writeSync(this.fd, buf, offset, buf.length - offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) return false;
      }
    }
    return true;
  }

  close(): void {
    this.flushSync();
    this.stop();
  }

  private stop(): void {
    const fd = this.fd;
    this.fd = -1;
    this.pending = [];
    this.pendingBytes = 0;
    this.retry = undefined;
    if (this.ownsFd && fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
