// Packs a command's compiled modules (dist/src/**, made by tsc) into one script, dist/<name>.body.js, run by a
// small ES module, dist/<name>.mjs, which bin/launch.js runs when it is current. Node 20 spends about 0.8 ms on
// each ES module it resolves and links; flowprobe -r loads some 60 of them, about 50 ms of a 0.14 s start
// (bench/replay.ts prints the start-up). A script, unlike a module, can be compiled from V8's code cache: the
// build runs the bundle once on a small capture (flowcapd: receiving its export) and keeps the bytecode it
// compiled (dist/<name>.body.cache).
//
// Each module becomes a function called on first use, which gets its exports object and its own would-be
// import.meta.url; static imports become reads from the imported module's exports taken when the import runs,
// in ES module order (depth first, in the order written). That equals the ES module bindings only where no
// module reads an import before the imported module has finished and no export is reassigned afterwards, so
// this refuses import cycles and `export let`/`var`. Imports of packages and of Node's own modules go through
// require(). Relative dynamic import()s stay lazy. The modules' text is otherwise unchanged.
//
//   node bin/bundle.js [name ...]      (default: flowprobe and flowcapd; run by `npm run build`)
//
// test/cli/bundle.test.ts bundles a small module tree with every form of import and export this handles.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const require = createRequire(import.meta.url);
const ts = require('typescript');

export class BundleError extends Error {}

/** Module id: its path from the bundle's directory, with forward slashes (e.g. "src/cli/flowprobe.js"). */
function idOf(base, file) {
  return path.relative(base, file).split(path.sep).join('/');
}

function isBuiltin(spec) {
  return spec.startsWith('node:') || builtinModules.includes(spec);
}

/** Names bound by an exported declaration (identifiers only: destructuring exports are not used here). */
function declaredNames(node) {
  if (ts.isVariableStatement(node)) {
    if ((node.declarationList.flags & (ts.NodeFlags.Const)) === 0) {
      throw new BundleError('export let/var (a binding that may change) cannot be bundled');
    }
    return node.declarationList.declarations.map((d) => {
      if (!ts.isIdentifier(d.name)) throw new BundleError('destructuring export');
      return d.name.text;
    });
  }
  if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) return [node.name.text];
  throw new BundleError(`unexpected export: ${ts.SyntaxKind[node.kind]}`);
}

/** One module's function text, and the ids of the modules it imports (static, then dynamic). */
function transform(base, file) {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits = [];
  const getters = [];
  // Imported modules run before the module's own first statement, in the order their imports are written.
  const hoisted = [];
  const staticDeps = [];
  const dynamicDeps = [];
  let n = 0;
  const where = (node) => `${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const resolveRelative = (spec, node) => {
    const target = path.resolve(path.dirname(file), spec);
    if (!fs.existsSync(target)) throw new BundleError(`${where(node)}: ${spec} not found`);
    return idOf(base, target);
  };
  const source = (spec, node) => {
    if (spec.startsWith('.')) {
      const id = resolveRelative(spec, node);
      staticDeps.push(id);
      return `__load(${JSON.stringify(id)})`;
    }
    return `__require(${JSON.stringify(spec)})`;
  };

  for (const st of sf.statements) {
    const start = st.getStart();
    if (ts.isImportDeclaration(st)) {
      const spec = st.moduleSpecifier.text;
      const from = source(spec, st);
      const clause = st.importClause;
      let out;
      if (!clause) out = `${from};`;
      else {
        const parts = [];
        if (clause.name) {
          if (spec.startsWith('.')) throw new BundleError(`${where(st)}: default import of our own module`);
          parts.push(`const ${clause.name.text} = ${from};`);
        }
        const b = clause.namedBindings;
        if (b && ts.isNamespaceImport(b)) parts.push(`const ${b.name.text} = ${from};`);
        else if (b && b.elements.length) {
          const names = b.elements.map((e) => (e.propertyName ? `${e.propertyName.text}: ${e.name.text}` : e.name.text));
          parts.push(`const { ${names.join(', ')} } = ${from};`);
        }
        out = parts.join(' ');
      }
      hoisted.push(out);
      edits.push([start, st.end, '']);
    } else if (ts.isExportDeclaration(st)) {
      const clause = st.exportClause;
      if (st.moduleSpecifier) {
        const ref = `__re${n++}`;
        const load = `const ${ref} = ${source(st.moduleSpecifier.text, st)};`;
        // export *: the names are known once the module has run.
        hoisted.push(clause ? load : `${load} __define(__exports, __star(${ref}));`);
        edits.push([start, st.end, '']);
        if (!clause) {
          // Done above.
        } else if (ts.isNamedExports(clause)) {
          for (const e of clause.elements) getters.push(`${e.name.text}: () => ${ref}.${(e.propertyName ?? e.name).text}`);
        } else throw new BundleError(`${where(st)}: export * as`);
      } else {
        if (clause && ts.isNamedExports(clause)) {
          for (const e of clause.elements) getters.push(`${e.name.text}: () => ${(e.propertyName ?? e.name).text}`);
        }
        edits.push([start, st.end, '']);
      }
    } else if (ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const mods = ts.getModifiers(st);
      if (mods.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) throw new BundleError(`${where(st)}: export default`);
      const exp = mods.find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      edits.push([exp.getStart(), exp.end + 1, '']);
      for (const name of declaredNames(st)) getters.push(`${name}: () => ${name}`);
    } else if (ts.isExportAssignment(st)) {
      throw new BundleError(`${where(st)}: export default`);
    }
  }

  // import('./x.js') and import.meta anywhere in the module.
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg) && arg.text.startsWith('.')) {
        const id = resolveRelative(arg.text, node);
        dynamicDeps.push(id);
        edits.push([node.getStart(), node.end, `__import(${JSON.stringify(id)})`]);
        return;
      }
      // A computed or relative-looking specifier would resolve against the bundle's own location.
      if (!arg || !ts.isStringLiteralLike(arg) || arg.text.startsWith('.')) {
        throw new BundleError(`${where(node)}: import() of a computed specifier`);
      }
    }
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      const parent = node.parent;
      if (!(ts.isPropertyAccessExpression(parent) && parent.name.text === 'url')) {
        throw new BundleError(`${where(node)}: import.meta other than import.meta.url`);
      }
      edits.push([parent.getStart(), parent.end, '__url']);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);

  edits.sort((a, b) => b[0] - a[0]);
  let body = text;
  for (const [s, e, t] of edits) body = body.slice(0, s) + t + body.slice(e);
  body = body.replace(/^#!.*\n/, '');
  const head = (getters.length ? `__define(__exports, { ${getters.join(', ')} });\n` : '') + hoisted.map((h) => `${h}\n`).join('');
  return { fn: `(__exports, __url) => {\n${head}${body}\n}`, staticDeps, dynamicDeps };
}

// The body is a classic script (see loaderText): one function of node's createRequire and the loader's
// import.meta.url, strict as ES modules are.
const PRELUDE = `(function (__createRequire, __metaUrl) {
'use strict';
const __require = __createRequire(__metaUrl);
const __defs = Object.create(null);
const __done = Object.create(null);
function __load(id) {
  let m = __done[id];
  if (m === undefined) {
    m = __done[id] = Object.create(null);
    __defs[id](m, new URL(id, __metaUrl).href);
  }
  return m;
}
function __import(id) {
  return Promise.resolve().then(() => __load(id));
}
function __define(target, getters) {
  for (const k of Object.keys(getters)) Object.defineProperty(target, k, { get: getters[k], enumerable: true });
}
function __star(m) {
  const g = {};
  for (const k of Object.keys(m)) g[k] = () => m[k];
  return g;
}
`;

/** The script a bundle's loader runs: out with .mjs replaced by .body.js; its code cache: .body.cache. */
export function bodyPath(out) {
  return out.replace(/\.mjs$/, '') + '.body.js';
}

/**
 * The ES module `out` itself: it compiles the body with V8's code cache when there is one. The cache (bytecode of
 * the functions a representative run compiled, made at build time by makeCodeCache) saved about 20 ms of
 * flowprobe's 90 ms start on a replay; V8 refuses a cache made by another node or with other flags and compiles
 * the text as usual then, so a stale or damaged cache costs only that time.
 */
function loaderText(out) {
  const body = path.basename(bodyPath(out));
  return `// Made by bin/bundle.js: runs ${body} (the modules), with its code cache when V8 accepts it. Do not edit.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
const file = fileURLToPath(new URL(${JSON.stringify(`./${body}`)}, import.meta.url));
const cacheFile = file.replace(/\\.js$/, '.cache');
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // None made: compile the text.
}
const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file, cachedData });
if (process.env.FLOWPROBE_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => {
    fs.writeFileSync(cacheFile + '.tmp', script.createCachedData());
    fs.renameSync(cacheFile + '.tmp', cacheFile);
  });
}
script.runInThisContext()(createRequire, import.meta.url);
`;
}

/**
 * Writes `out` (a small ES module) and its body from the ES module `entry` and everything it imports, which must
 * all lie under out's directory (where the modules' import.meta.url point). Returns the number of modules. A code
 * cache from an earlier build is removed (makeCodeCache makes the new one).
 */
export function bundle(entry, out) {
  const base = path.dirname(path.resolve(out));
  if (!fs.existsSync(entry)) throw new BundleError(`${entry} not found (run tsc first)`);
  if (path.relative(base, path.resolve(entry)).startsWith('..')) throw new BundleError(`${entry} is not under ${base}`);
  const modules = new Map();
  const state = new Map();
  // Depth first over static imports, refusing cycles; dynamic imports are roots of their own.
  const visit = (id, chain) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'open') throw new BundleError(`import cycle: ${[...chain, id].join(' -> ')}`);
    state.set(id, 'open');
    const m = transform(base, path.join(base, id));
    modules.set(id, m);
    for (const d of m.staticDeps) visit(d, [...chain, id]);
    state.set(id, 'done');
    for (const d of m.dynamicDeps) visit(d, []);
  };
  visit(idOf(base, path.resolve(entry)), []);
  let text = `// Made by bin/bundle.js from ${modules.size} modules: do not edit.\n${PRELUDE}`;
  for (const [id, m] of modules) text += `__defs[${JSON.stringify(id)}] = ${m.fn};\n`;
  text += `__load(${JSON.stringify(idOf(base, path.resolve(entry)))});\n})\n`;
  const body = bodyPath(out);
  fs.rmSync(body.replace(/\.js$/, '.cache'), { force: true });
  fs.writeFileSync(`${body}.tmp`, text);
  fs.renameSync(`${body}.tmp`, body);
  // The loader last: whoever finds it finds its body.
  fs.writeFileSync(`${out}.tmp`, loaderText(out));
  fs.renameSync(`${out}.tmp`, out);
  return modules.size;
}

/**
 * Runs the bundle `out` once with `args` (a short, representative job) to leave its code cache beside it. The
 * build goes on without one if the run fails: the bundle works without it, only starts slower.
 */
export async function makeCodeCache(out, args) {
  const child = spawn(process.execPath, [out, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FLOWPROBE_WRITE_CODE_CACHE: '1' },
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  const cache = bodyPath(out).replace(/\.js$/, '.cache');
  if (code !== 0 || !fs.existsSync(cache)) {
    console.error(`bundle: no code cache for ${path.basename(out)} (its run exited ${code}: ${err.trim().split('\n').pop()}); it starts without one`);
  }
}

/** The replay flowprobe's code cache is made from: a bundled capture exported as `version` to `port` on loopback. */
const replay = (port, version = '9') => ['-r', path.join(ROOT, 'pcaps/pcapplusplus-example2.pcap'), '-n', `127.0.0.1:${port}`, '-v', version, '--no-progress'];

/**
 * flowcapd's code cache: the bundle receives flowprobe's replay as v9 and as IPFIX into a temporary directory, and
 * writes its cache when SIGTERM stops it. Needs flowprobe's bundle (made first).
 */
async function makeReceiverCodeCache(out) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-warm-up-'));
  const probe = path.join(DIST, 'flowprobe.mjs');
  // A port of our own on loopback, given to the receiver (freed just before; nothing else here binds).
  const s = dgram.createSocket('udp4');
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  s.close();
  const child = spawn(process.execPath, [out, '-l', dir, '-p', String(port), '-b', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FLOWPROBE_WRITE_CODE_CACHE: '1' },
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  try {
    for (let i = 0; i < 200 && !/listening on/.test(err) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
    for (const v of ['9', '10']) {
      await new Promise((resolve) => spawn(process.execPath, [probe, ...replay(port, v)], { stdio: 'ignore' }).once('exit', resolve));
    }
    // The receiver's socket is emptied before it stops: give it the last datagrams' turn.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exited;
  fs.rmSync(dir, { recursive: true, force: true });
  const cache = bodyPath(out).replace(/\.js$/, '.cache');
  if (code !== 0 || !fs.existsSync(cache)) {
    console.error(`bundle: no code cache for ${path.basename(out)} (its run exited ${code}: ${err.trim().split('\n').pop()}); it starts without one`);
  }
}

/** How each bundled command makes its code cache, in this order (flowcapd's warm-up runs flowprobe's bundle). */
const WARM_UP = {
  flowprobe: (out, port) => makeCodeCache(out, replay(port)),
  flowcapd: (out) => makeReceiverCodeCache(out),
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  try {
    for (const name of names.length ? names : Object.keys(WARM_UP)) bundle(path.join(DIST, 'src/cli', `${name}.js`), path.join(DIST, `${name}.mjs`));
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    console.error(`bundle: ${e.message}`);
    process.exit(1);
  }
  // The warm-up's flows go to a socket of ours on loopback, read by nobody: nothing leaves the machine.
  const sink = dgram.createSocket('udp4');
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  try {
    for (const name of names.length ? names : Object.keys(WARM_UP)) {
      const warm = WARM_UP[name];
      if (warm) await warm(path.join(DIST, `${name}.mjs`), sink.address().port);
    }
  } finally {
    sink.close();
  }
}
