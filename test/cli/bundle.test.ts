/**
 * bin/bundle.js: a module tree run from its bundle prints what it prints run as ES modules (the order modules are
 * evaluated in, named, renamed, namespace, side-effect, default-of-builtin, re-exported and lazily imported
 * bindings, each module's own import.meta.url), and the trees it cannot pack faithfully are refused. Its code
 * cache is one V8 accepts, and a damaged one changes nothing but the start-up time.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyPath, bundle, BundleError, makeCodeCache } from '../../bin/bundle.js';

let dir = '';
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function tree(files: Record<string, string>): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-bundle-'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const seen = (name: string): string => `(globalThis.order ??= []).push(${JSON.stringify(name)});\n`;

describe('bin/bundle.js', () => {
  it('runs a module tree the way Node runs its ES modules', () => {
    const d = tree({
      'src/cli/main.js':
        `import fs from 'node:fs';\nimport { join } from 'node:path';\n` +
        `import { a, b as bee, Counter } from '../lib/x.js';\nimport * as ns from '../lib/y.js';\n` +
        `import '../lib/side.js';\nimport { z, s1, s2 } from '../lib/re.js';\n` +
        seen('main') +
        `const c = new Counter(); c.add(); c.add();\n` +
        `const here = new URL('.', import.meta.url).pathname;\n` +
        `const out = [a(), bee, c.n, ns.Y, ns.twice(4), globalThis.side, typeof fs.readFileSync, join('p', 'q'), z, s1, s2,\n` +
        `  here.endsWith('/src/cli/'), String(import.meta.url).endsWith('/src/cli/main.js')];\n` +
        `import('../lib/lazy.js').then((m) => { out.push(m.lazy, globalThis.order.join(' ')); console.log(JSON.stringify(out)); });\n`,
      'src/lib/x.js':
        `import { Y } from './y.js';\n` + seen('x') +
        `export function a() { return 'a' + Y; }\nexport const b = 2, unused = 3;\n` +
        `export class Counter { n = 0; add() { this.n++; } }\n`,
      'src/lib/y.js': seen('y') + `export const Y = 'y';\nexport async function later() {}\nexport function twice(n) { return 2 * n; }\n`,
      'src/lib/side.js': seen('side') + `globalThis.side = 'side effect';\nexport {};\n`,
      'src/lib/re.js': seen('re') + `const zz = 'z';\nexport { zz as z };\nexport * from './star.js';\n`,
      'src/lib/star.js': seen('star') + `export const s1 = 's1';\nexport function s2() {}\n`,
      'src/lib/lazy.js': seen('lazy') + `import { b } from './x.js';\nexport const lazy = 'lazy ' + b;\n`,
    });
    const n = bundle(path.join(d, 'src/cli/main.js'), path.join(d, 'main.mjs'));
    expect(n).toBe(7);
    const direct = execFileSync(process.execPath, [path.join(d, 'src/cli/main.js')], { encoding: 'utf8' });
    const bundled = execFileSync(process.execPath, [path.join(d, 'main.mjs')], { encoding: 'utf8' });
    // The typeof of a function export differs from a string: compare through JSON, as printed.
    expect(JSON.parse(direct)).toEqual(['ay', 2, 2, 'y', 8, 'side effect', 'function', 'p/q', 'z', 's1', null, true, true,
      'lazy 2', 'y x side star re main lazy']);
    expect(bundled).toBe(direct);
  });

  it('refuses an import cycle, a binding that may change, and a computed import()', () => {
    const cases: Record<string, string>[] = [
      { 'm.js': `import { b } from './n.js';\nexport const a = 1;\n`, 'n.js': `import { a } from './m.js';\nexport const b = a;\n` },
      { 'm.js': `export let a = 1;\nexport function bump() { a++; }\n` },
      { 'm.js': `const name = './n.js';\nexport const p = import(name);\n`, 'n.js': `export const n = 1;\n` },
    ];
    const why = [/import cycle/, /export let/, /computed specifier/];
    cases.forEach((files, i) => {
      const d = tree(files);
      expect(() => bundle(path.join(d, 'm.js'), path.join(d, 'out.mjs'))).toThrow(BundleError);
      expect(() => bundle(path.join(d, 'm.js'), path.join(d, 'out.mjs'))).toThrow(why[i]);
      fs.rmSync(d, { recursive: true, force: true });
    });
  });

  it('leaves a code cache V8 accepts, and runs the same with a damaged one or none', async () => {
    const d = tree({
      'src/cli/main.js': `import { twice } from '../lib/y.js';\nconsole.log(twice(21), new URL('.', import.meta.url).pathname.endsWith('/src/cli/'));\n`,
      'src/lib/y.js': `export function twice(n) { return 2 * n; }\n`,
    });
    const out = path.join(d, 'main.mjs');
    bundle(path.join(d, 'src/cli/main.js'), out);
    const cache = bodyPath(out).replace(/\.js$/, '.cache');
    const run = (): string => execFileSync(process.execPath, [out], { encoding: 'utf8' });
    expect(run()).toBe('42 true\n');
    await makeCodeCache(out, []);
    expect(fs.statSync(cache).size).toBeGreaterThan(0);
    // What the loader does with it: V8 takes it for this text.
    const probe = `const vm = require('node:vm'), fs = require('node:fs');` +
      `const s = new vm.Script(fs.readFileSync(${JSON.stringify(bodyPath(out))}, 'utf8'), { filename: ${JSON.stringify(bodyPath(out))}, cachedData: fs.readFileSync(${JSON.stringify(cache)}) });` +
      `console.log(s.cachedDataRejected);`;
    expect(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })).toBe('false\n');
    expect(run()).toBe('42 true\n');
    fs.writeFileSync(cache, Buffer.from('not a code cache at all'));
    expect(run()).toBe('42 true\n');
    fs.rmSync(cache);
    expect(run()).toBe('42 true\n');
    // A new bundle drops the cache made for the old text.
    fs.writeFileSync(cache, 'stale');
    bundle(path.join(d, 'src/cli/main.js'), out);
    expect(fs.existsSync(cache)).toBe(false);
  });
});
