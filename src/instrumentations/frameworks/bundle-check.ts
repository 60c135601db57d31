// A bundled app (esbuild, webpack, rollup, ncc) carries its frameworks inside one file, where no
// module hook can reach them: the server spans are still there, but without routes or handler
// errors. Checked once and off the request path: the entry script is read asynchronously at
// start, and at the first request each framework found inlined in it that the module hooks never
// reached is named in one warning, with the workaround (mark it external).
import dc from 'node:diagnostics_channel';
import { readFile, stat } from 'node:fs';
import { basename } from 'node:path';
import { warn } from '../../diag.js';
import { W } from '../../warnings.js';
import { wasSeen } from './support.js';

// The CommonJS runtime a bundler emits for the modules it inlines: its helpers by name, and the
// `{ exports: {} }` each one creates a module with, which survives minification.
const BUNDLER = /__commonJS\(|__webpack_require__|__nccwpck_require__|commonjsGlobal|\bexports\s*:\s*\{\s*\}/;
const MAX_BYTES = 64 * 1024 * 1024;
const FIRST_REQUEST = 'http.server.request.start';

const markers = new Map<string, RegExp>();
let state: 'idle' | 'reading' | 'read' | 'done' = 'idle';
let inlined: string[] = [];
let requested = false;
let entry = '';

function conclude(): void {
  state = 'done';
  const missed = inlined.filter((name) => !wasSeen(name));
  inlined = [];
  if (missed.length === 0) return;
  const names = missed.join(', ');
  warn(
    W.BUNDLED_FRAMEWORK,
    `${basename(entry)} is a bundle with ${names} inlined, where no module hook can reach: spans get no route (http.route) ` +
      `and no handler errors from ${names}. Leave ${names} out of the bundle and install beside it ` +
      `(esbuild ${missed.map((n) => `--external:${n}`).join(' ')}; webpack externals)`,
  );
}

function unsubscribe(): void {
  dc.unsubscribe(FIRST_REQUEST, onFirstRequest);
}

function onFirstRequest(): void {
  if (requested) return;
  requested = true;
  // Not during the publish: Node versions that splice the subscriber list in place would skip
  // the subscriber after this one.
  process.nextTick(unsubscribe);
  if (state === 'read') conclude();
}

function notBundled(): void {
  state = 'done';
  if (!requested) {
    requested = true;
    unsubscribe();
  }
}

function scan(text: string): void {
  if (BUNDLER.test(text)) {
    for (const [name, marker] of markers) if (marker.test(text)) inlined.push(name);
  }
  if (inlined.length === 0) return notBundled();
  state = 'read';
  if (requested) conclude();
}

/** Register a framework whose presence in a bundle `marker` reveals; starts the check once. */
export function watchForBundle(name: string, marker: RegExp): void {
  markers.set(name, marker);
  if (state !== 'idle') return;
  const script = process.argv[1];
  if (script === undefined || !/\.[cm]?js$/.test(script)) {
    state = 'done';
    return;
  }
  state = 'reading';
  entry = script;
  dc.subscribe(FIRST_REQUEST, onFirstRequest);
  stat(script, (err, st) => {
    if (err !== null || !st.isFile() || st.size > MAX_BYTES) return notBundled();
    readFile(script, 'latin1', (e, text) => (e === null ? scan(text) : notBundled()));
  });
}
