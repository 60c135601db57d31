// The command line that ab.mjs, hotpath.mjs, instructions.mjs and encode.mjs share: `--node
// <binary>`, `--register <file>`, and configurations written `name:ENV=V;ENV2=V2`.
import { join, resolve } from 'node:path';

/** Takes --node and --register out of argv; what is left are the positional arguments. */
export function parseCommon(argv, here) {
  const rest = [...argv];
  const option = (name, fallback) => {
    const i = rest.indexOf(name);
    if (i < 0) return fallback;
    const [, value] = rest.splice(i, 2);
    return value;
  };
  const node = option('--node', process.execPath);
  const register = resolve(option('--register', join(here, '..', 'dist', 'register.js')));
  return { node, register, rest };
}

/** `name:A=1;B=2` → { name, env: { A: '1', B: '2' } }. */
export function parseConfigSpec(spec) {
  const [name, extra = ''] = spec.split(':');
  return { name, env: Object.fromEntries(extra.split(';').filter(Boolean).map((kv) => kv.split('='))) };
}
