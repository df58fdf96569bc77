/** A module tree bin/bundle.js cannot pack (an import cycle, `export let`, a computed import(), ...). */
export class BundleError extends Error {}
/** Packs the ES module `entry` and everything it imports into `out`; returns the number of modules. */
export function bundle(entry: string, out: string): number;
