/** True when dist/ holds a build no older than any source file. */
export function built(): boolean;
/** Runs src/cli/<name>.ts, from dist/ when built() says it is current, else through tsx. */
export function launch(name: string): Promise<void>;
