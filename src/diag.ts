// periscope's own voice: one line per message on stderr, never stdout.
// Warnings with the same key are printed once per process, so a failing collector or a
// broken instrumentation can never flood the app's logs.
import { writeSync } from 'node:fs';
import type { WarningCode } from './warnings.js';

export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4 };

let threshold = RANK.warn;
const said = new Set<string>();

export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

export function debugEnabled(): boolean {
  return threshold >= RANK.debug;
}

function write(line: string): void {
  try {
    // Synchronous so the line is not lost when the process is about to die, and so it never
    // interleaves inside a line the app writes.
    writeSync(2, `periscope: ${line}\n`);
  } catch {
    // stderr closed: nothing sensible left to do.
  }
}

export function warn(code: WarningCode, message: string): void {
  if (threshold >= RANK.warn) write(`${code} ${message}`);
}

/** Warn at most once per key for the life of the process. */
export function warnOnce(code: WarningCode, key: string, message: string): void {
  const k = code + key;
  if (said.has(k)) return;
  said.add(k);
  warn(code, message);
}

/** Forget a once-key so the next occurrence is reported again (e.g. a new outage after recovery). */
export function rearm(code: WarningCode, key: string): void {
  said.delete(code + key);
}

export function debug(message: string): void {
  if (threshold >= RANK.debug) write(message);
}

export function info(message: string): void {
  if (threshold >= RANK.info) write(message);
}
