// Starts a command from the compiled JavaScript in dist/ when that is up to date with every source file (made by
// `npm run build`; start-up about 0.1 s), and otherwise from the TypeScript through tsx (about 0.4 s), so an
// edited source is never run stale and a clone without a build still works.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** True when every src/**.ts has its dist/src/**.js, written no earlier than the source. */
export function built(dir = path.join(ROOT, 'src')) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!built(p)) return false;
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const out = path.join(ROOT, 'dist', path.relative(ROOT, p)).replace(/\.ts$/, '.js');
      let src, js;
      try {
        src = fs.statSync(p).mtimeMs;
        js = fs.statSync(out).mtimeMs;
      } catch {
        return false;
      }
      if (js < src) return false;
    }
  }
  return true;
}

/** Runs src/cli/<name>.ts, compiled or not. FLOWPROBE_TSX=1 forces the sources. */
export async function launch(name) {
  if (process.env.FLOWPROBE_TSX !== '1' && built()) {
    await import(pathToFileURL(path.join(ROOT, 'dist/src/cli', `${name}.js`)).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(ROOT, 'src/cli', `${name}.ts`)).href);
}
