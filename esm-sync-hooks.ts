// import-in-the-middle's synchronous hooks (module.registerHooks), as one file of their own.
// The build (scripts/build.mjs) bundles this entry with import-in-the-middle's loader, its two
// lexers and its builtins taken through require(): imported as published, that loader is a dozen
// ES modules and five builtin facades, ~12 ms of start-up on Node 24 against ~6 bundled.
// esm-loader.ts imports it only on the Node versions that take the synchronous path.
export { register } from 'import-in-the-middle/register-hooks.mjs';
