// console correlation (opt-in, PERISCOPE_CONSOLE_CORRELATION=true): console.log and friends
// called inside a span print ` trace_id=… span_id=…` at the end of their line. Off by default,
// and then nothing is patched. Outside a span the call goes through untouched.
import { format } from 'node:util';
import { activeLogIds } from './correlation.js';
import { wrap } from '../patch.js';
import type { Instrumentation } from '../types.js';

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * How many arguments a util.format string consumes (`%s`, `%d`, `%i`, `%f`, `%j`, `%o`, `%O`,
 * `%c`; `%%` is a literal). Pure, for the unit tests.
 */
export function formatSpecifiers(fmt: string): number {
  let n = 0;
  for (let i = fmt.indexOf('%'); i >= 0 && i < fmt.length - 1; i = fmt.indexOf('%', i)) {
    const c = fmt[i + 1] as string;
    if ('sdifjoOc'.includes(c)) n++;
    i += 2;
  }
  return n;
}

/**
 * The arguments to print instead, with the suffix last. The suffix goes in as one more argument,
 * which console joins with a space, so objects keep console's own inspection (and colours). A
 * format string with more specifiers than arguments would swallow it into a `%s`: that rare call
 * is formatted here first.
 */
export function withSuffix(args: readonly unknown[], suffix: string): unknown[] {
  const first = args[0];
  if (typeof first === 'string' && first.includes('%') && formatSpecifiers(first) >= args.length) {
    // util.format is what console uses for a stream that is not a TTY.
    return ['%s %s', format(...args), suffix];
  }
  return [...args, suffix];
}

export function consoleSuffix(): string | undefined {
  const ids = activeLogIds();
  return ids === undefined ? undefined : `trace_id=${ids.trace_id} span_id=${ids.span_id}`;
}

export const consoleInstrumentation: Instrumentation = {
  name: 'console',
  enable(services) {
    if (!services.config.logs.consoleCorrelation) return [];
    for (const m of METHODS) {
      wrap(console, m, (original: (...args: unknown[]) => void) =>
        function (this: unknown, ...args: unknown[]) {
          const suffix = args.length === 0 ? undefined : consoleSuffix();
          return Reflect.apply(original, this, suffix === undefined ? args : withSuffix(args, suffix));
        },
      );
    }
    return ['console'];
  },
};
