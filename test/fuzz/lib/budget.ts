/**
 * How much each fuzz property runs. The test suite uses a fixed seed and small counts so that it is deterministic
 * and quick (the whole of test/fuzz well under a minute on two shared cores); `long.ts` runs the same properties
 * with random seeds and large counts. FUZZ_SEED replays a seed that fast-check printed for a failure.
 */
import type { Parameters } from 'fast-check';

/** The suite's seed, unless FUZZ_SEED asks for another one. */
export const SUITE_SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 0x7f10_0007;

/** fast-check parameters for the bounded run in the test suite. */
export function suiteParams<T>(numRuns: number, extra: Parameters<T> = {}): Parameters<T> {
  return { numRuns, seed: SUITE_SEED, ...extra };
}
