/**
 * Starting a worker thread on one of our own modules, from the build or from the TypeScript sources alike.
 * The probe runs its export on one (export/thread.ts).
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const EXT = path.extname(fileURLToPath(import.meta.url));

/**
 * Whether the probe uses its threads unless told otherwise: yes when running the build. From the TypeScript
 * sources a worker must first compile its own copy of what it runs (some 0.3 s through tsx), which the test
 * suite would pay hundreds of times.
 */
export const THREAD_BY_DEFAULT = EXT === '.js';

/** Atomics.waitAsync (ES2024): Node 20 has it, the TypeScript library this project targets does not list it. */
export const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, index: number, value: number, timeoutMs?: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/**
 * Starts `module` (a path under src/ without extension, e.g. 'export/export-worker') as a worker. From the build
 * it runs the .js next to this one; from the sources it registers tsx first, as bin/launch.js does for the main
 * thread (workers do not inherit the loader).
 */
export function startWorker(module: string, workerData: unknown, transferList: TransferListItem[] = []): Worker {
  const entry = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', `${module}${EXT}`));
  if (EXT === '.js') return new Worker(entry, { workerData, transferList });
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  const api = (require(pkg) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!.import.default;
  const apiUrl = pathToFileURL(path.join(path.dirname(pkg), api)).href;
  const code = `import(${JSON.stringify(apiUrl)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData, transferList });
}
