/** True when dist/ holds a build no older than any source file. */
export function built(): boolean;
/** The file the build runs <name> from (its bundle when current, else its module), or null when not built(). */
export function builtEntry(name: string): string | null;
/** Runs src/cli/<name>.ts, from dist/ when built() says it is current, else through tsx. */
export function launch(name: string): Promise<void>;
