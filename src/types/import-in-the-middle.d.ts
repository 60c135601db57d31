// import-in-the-middle publishes no types for this entry (3.6.0); esm-loader.ts imports it.
declare module 'import-in-the-middle/supports-sync-hooks.mjs' {
  export function supportsSyncHooks(): boolean;
}
