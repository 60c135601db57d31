// Errors inside periscope are ours to swallow: reported once per place, never thrown into the app.
import { W } from './warnings.js';
import { warnOnce } from './diag.js';

export function reportInternal(where: string, err: unknown): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  warnOnce(W.INTERNAL_ERROR, where, `internal error in ${where} (the app is unaffected; reported once): ${detail}`);
}
