/**
 * What the fuzzers found, each kept as the smallest input that showed it. Every entry names the fuzz property that
 * found it and the fix.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IE } from '../../src/wire/ie.js';
import { collect } from '../wire/collect.js';
import { PCAP_DIR } from './lib/corpus.js';
import { readInChild } from './lib/reader-batch.js';
import { brokenRecord } from './props/wire.js';
import { B, ipfixMessage, set, template, v9Message } from './lib/bytes.js';

const execFileP = promisify(execFile);
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/flowprobe.js');

describe('fuzz regressions: wire decoders', () => {
  // props/wire.ts (record sanity), on a mutated flowprobe IPFIX export: an 8-byte flowStartMilliseconds above 2^53
  // gave startNsec -1,024,000,000. Fixed in src/wire/time.ts setRecordMs (remainder by %, exact for any double).
  it('keeps nanoseconds within the second for any 64-bit millisecond time', () => {
    const t = template(300, [[IE.sourceIPv4Address, 4], [IE.flowStartMilliseconds, 8], [IE.flowEndMilliseconds, 8]]);
    const rec = (hi: number, lo: number): B => new B().u32(0xc0000201).u32(hi, lo).u32(hi, lo);
    const data = new B()
      .raw(rec(0xffffffff, 0xffffffff).bytes)
      .raw(rec(0x03fd1e91, 0).bytes) // was -32,000,000 ns
      .raw(rec(0x000001a2, 0x3b4c5d6e).bytes); // an ordinary time must not change
    const got = collect(10, [ipfixMessage([set(2, t), set(300, data)])]);
    expect(got.errors).toEqual([]);
    expect(got.flows).toHaveLength(3);
    for (const f of got.flows) expect(brokenRecord(f)).toBeNull();
    const ms = 0x1a2 * 2 ** 32 + 0x3b4c5d6e;
    expect([got.flows[2]!.startSec, got.flows[2]!.startNsec]).toEqual([Math.floor(ms / 1000), (ms % 1000) * 1e6]);
  });

  // props/wire.ts (record sanity), on a mutated softflowd v9 export: the ipVersion field (IE 60) set the record's
  // version to any byte (31), or called IPv6 addresses IPv4. Fixed in src/wire/ie.ts: the address fields decide.
  it('takes the address family from the address fields, not from IE 60', () => {
    const v6 = template(260, [[IE.sourceIPv6Address, 16], [IE.destinationIPv6Address, 16], [IE.ipVersion, 1]]);
    const v4 = template(261, [[IE.sourceIPv4Address, 4], [IE.destinationIPv4Address, 4], [IE.ipVersion, 1]]);
    const addr6 = [0x20010db8, 0, 0, 1];
    const msg = v9Message([
      set(0, new B().raw(v6.bytes).raw(v4.bytes)),
      set(260, new B().u32(...addr6).u32(...addr6).u8(4).u8(0, 0, 0)),
      set(261, new B().u32(0x0a000001, 0x0a000002).u8(31).u8(0, 0, 0)),
    ]);
    const got = collect(9, [msg]);
    expect(got.errors).toEqual([]);
    expect(got.flows.map((f) => [f.ipVersion, Array.from(f.src)])).toEqual([
      [6, addr6],
      [4, [0x0a000001, 0, 0, 0]],
    ]);
  });
});

describe('fuzz regressions: the pcap job', () => {
  // props/file-job.ts (long run), on tcpdump-print-flags.pcap with timestamps edited: a flow whose packet was stamped
  // 4294967294 s (2106) got an expiry second past 2^32, which its 32-bit row word wrapped; the timing wheel then
  // unlinked it from the wrong list and flowprobe -r spun for ever. Fixed in src/flow/wheel.ts (clamped to 2^32-1).
  // Run as a process with a deadline, since the fault was an endless loop.
  it('a flow stamped at the end of 32-bit time, then earlier, ends the job with its flow', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-regress-'));
    try {
      const file = path.join(dir, 'late.pcap');
      // Ethernet / IPv4 / UDP 10.0.0.1:53 > 10.0.0.2:53, twice: at 4294967294 s, then at 1181478372 s.
      const frame = Buffer.from(
        ['000000000000000000000000', '0800', '4500001c', '00000000', '40110000', '0a000001', '0a000002', '00350035', '00080000'].join(''),
        'hex',
      );
      const pcap = Buffer.alloc(24 + 2 * (16 + frame.length));
      pcap.writeUInt32LE(0xa1b2c3d4, 0);
      pcap.writeUInt16LE(2, 4);
      pcap.writeUInt16LE(4, 6);
      pcap.writeUInt32LE(65535, 16);
      pcap.writeUInt32LE(1, 20);
      [4294967294, 1181478372].forEach((sec, i) => {
        const o = 24 + i * (16 + frame.length);
        pcap.writeUInt32LE(sec, o);
        pcap.writeUInt32LE(frame.length, o + 8);
        pcap.writeUInt32LE(frame.length, o + 12);
        frame.copy(pcap, o + 16);
      });
      fs.writeFileSync(file, pcap);
      const { stdout } = await execFileP(process.execPath, [BIN, '-r', file, '--no-progress', '--format', 'csv'], { timeout: 30_000 });
      const rows = stdout.trim().split('\n').slice(1);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(/10\.0\.0\.1.*10\.0\.0\.2/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('fuzz regressions: the native reader', () => {
  // props/capture.ts (long run), on zeek-pcapng-multi-interface.pcapng with 11 bytes changed: the second IDB ends its
  // options early (opt_endofopt of length 10). libpcap 1.10.3 reports that, but a next() after the error made it
  // read on and divide by the uninitialised timestamp scale of the half-added interface: SIGFPE, the process gone.
  // Fixed in native/src/addon.cc: a savefile's first read error is sticky and libpcap is not called again. Read in
  // a child process (lib/reader-batch.ts), which calls next() twice more after the error, five times over (the
  // fault read uninitialised memory).
  it('a savefile that failed keeps failing with the same error instead of crashing in libpcap', async () => {
    const original = fs.readFileSync(path.join(PCAP_DIR, 'zeek-pcapng-multi-interface.pcapng'));
    const patch: [number, number][] = [
      [263, 0xe8], [264, 0x01], [265, 0x20], [266, 0], [267, 0x01], [268, 0], [269, 0], [272, 0], [579, 0x80], [580, 0], [582, 0],
    ];
    const bytes = Uint8Array.from(original);
    for (const [at, v] of patch) bytes[at] = v;
    const cases = Array.from({ length: 5 }, () => ({ kind: 'zeek-pcapng-multi-interface.pcapng, IDB 2 options ended early', bytes }));
    const o = await readInChild(cases, 30_000);
    expect(o.crash).toBeNull();
    for (const r of o.reports) {
      // Our pcapng reader (native/src/pcapng.cc) refuses the block when the file is opened, as libpcap did at read.
      expect(r).toMatchObject({
        count: 0,
        openError: "interface description block's end-of-options option has length 10, not 0 at file offset 200",
        readError: null,
        broken: null,
      });
    }
  }, 40_000);
});
