/** A module tree bin/bundle.js cannot pack (an import cycle, `export let`, a computed import(), ...). */
export class BundleError extends Error {}
/** Packs the ES module `entry` and everything it imports into `out` and its body; returns the number of modules. */
export function bundle(entry: string, out: string): number;
/** The script the bundle `out` runs (its code cache sits beside it, .cache for .js). */
export function bodyPath(out: string): string;
/** Runs the bundle `out` once with `args` to leave its code cache beside its body. */
export function makeCodeCache(out: string, args: string[]): Promise<void>;
