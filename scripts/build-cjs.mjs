// The CommonJS build of the public API, for apps that `require('periscope-agent')` on Node
// versions without require(esm) (before 20.19 / 22.12). It is a second copy of the code; the
// running agent is shared through a Symbol.for global, so either copy's shutdown() reaches it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
