// Starts a command from the compiled JavaScript in dist/ when that is up to date with every source file (made by
// `npm run build`; start-up about 0.1 s), and otherwise from the TypeScript through tsx (about 0.4 s), so an
// edited source is never run stale and a clone without a build still works. Of the build, the command's bundle
// (dist/<name>.mjs, bin/bundle.js: some 20 ms sooner) when it is newer than every module in dist/src, else the
// modules themselves (a tsc run without the bundling step).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** True when every src/**.ts has its dist/src/**.js, written no earlier than the source. */
export function built(dir = path.join(ROOT, 'src')) {
  return newestBuilt(dir) >= 0;
}

/** The latest mtime (ms) of the dist/src/**.js of every src/**.ts under dir, or -1 when one is missing or stale. */
function newestBuilt(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return -1;
  }
  let newest = 0;
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const t = newestBuilt(p);
      if (t < 0) return -1;
      if (t > newest) newest = t;
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const out = path.join(ROOT, 'dist', path.relative(ROOT, p)).replace(/\.ts$/, '.js');
      let src, js;
      try {
        src = fs.statSync(p).mtimeMs;
        js = fs.statSync(out).mtimeMs;
      } catch {
        return -1;
      }
      if (js < src) return -1;
      if (js > newest) newest = js;
    }
  }
  return newest;
}

/** What runs <name> from the build: its bundle when current, else its module; null when the build is not current. */
export function builtEntry(name) {
  const newest = newestBuilt(path.join(ROOT, 'src'));
  if (newest < 0) return null;
  const bundle = path.join(ROOT, 'dist', `${name}.mjs`);
  try {
    if (fs.statSync(bundle).mtimeMs >= newest) return bundle;
  } catch {
    // Not bundled.
  }
  return path.join(ROOT, 'dist/src/cli', `${name}.js`);
}

/** Runs src/cli/<name>.ts, compiled or not. FLOWPROBE_TSX=1 forces the sources. */
export async function launch(name) {
  const entry = process.env.FLOWPROBE_TSX === '1' ? null : builtEntry(name);
  if (entry) {
    await import(pathToFileURL(entry).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(ROOT, 'src/cli', `${name}.ts`)).href);
}
