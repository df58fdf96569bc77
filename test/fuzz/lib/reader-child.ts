/**
 * Child process of the capture-file fuzz (started by reader-batch.ts): reads each file of a manifest through the
 * native reader and prints one line per file. A native crash kills only this process; the parent knows which file
 * was open from the last "begin" line.
 *
 * Usage: node --import tsx test/fuzz/lib/reader-child.ts MANIFEST.json
 */
import fs from 'node:fs';
import { readFile, type ManifestEntry } from './reader.js';

// The harness's own test (capture.test.ts): "crash:MARK" / "hang:MARK" makes a file containing MARK die by SIGSEGV
// or never finish, as a native fault would, so the parent's detection is proven on a real dead process.
const [selfTest, mark] = (process.env.FLOWPROBE_FUZZ_SELFTEST ?? '').split(':');

const manifest = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as ManifestEntry[];
manifest.forEach((e, i) => {
  // Written synchronously, so each line is out before a crash in native code could lose it.
  fs.writeSync(1, `begin ${i}\n`);
  if (mark && fs.readFileSync(e.path).includes(mark)) {
    if (selfTest === 'crash') process.kill(process.pid, 'SIGSEGV');
    if (selfTest === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  fs.writeSync(1, `done ${JSON.stringify(readFile(i, e))}\n`);
});
