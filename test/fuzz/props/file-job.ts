/**
 * The flowprobe pcap job (parseProbeArgs + runFileJob, in process) on mutated captures, with random options,
 * exporting to a loopback socket of ours. The packets are hostile (bytes, lengths and timestamps edited; packets
 * dropped and repeated; the file cut anywhere) but the pcap framing is kept, so the reader itself is not what is
 * under test here (props/capture.ts fuzzes it, in child processes). Checked after each run:
 *
 * - the job returns (never throws); its error, if any, is one line naming the file;
 * - packets read = processed + non-IP + non-sampled (the statistics add up), and = the packets in the file when
 *   the file is whole;
 * - no flow is left in the table and the table's invariants hold;
 * - every datagram the exporter counted arrived, and decodes with no error to exactly the records it counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseProbeArgs } from '../../../src/probe/options.js';
import { runFileJob } from '../../../src/probe/file-job.js';
import { bundledCaptures, udpSink } from '../lib/corpus.js';
import { mutate, mutationsArb, rarely, type Mutation } from '../lib/mutate.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from '../lib/pcapgen.js';
import { Session, newWireStats } from './wire.js';

interface Pcap {
  name: string;
  le: boolean;
  nano: boolean;
  header: Uint8Array;
  packets: { sec: number; frac: number; wirelen: number; data: Uint8Array }[];
}

/** Parses a whole classic pcap file; null for pcapng or a file that does not parse to its end. */
export function parsePcap(name: string, b: Uint8Array): Pcap | null {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicLe = dv.getUint32(0, true);
  const magicBe = dv.getUint32(0, false);
  const le = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
  if (!le && magicBe !== PCAP_MAGIC_US && magicBe !== PCAP_MAGIC_NS) return null;
  const nano = (le ? magicLe : magicBe) === PCAP_MAGIC_NS;
  const packets: Pcap['packets'] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = dv.getUint32(off + 8, le);
    if (off + 16 + caplen > b.length) return null;
    packets.push({ sec: dv.getUint32(off, le), frac: dv.getUint32(off + 4, le), wirelen: dv.getUint32(off + 12, le), data: b.slice(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return off === b.length ? { name, le, nano, header: b.slice(0, 24), packets } : null;
}

export function writePcap(p: Pcap, packets: Pcap['packets']): Uint8Array {
  const size = 24 + packets.reduce((n, q) => n + 16 + q.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(p.header, 0);
  let off = 24;
  for (const q of packets) {
    dv.setUint32(off, q.sec, p.le);
    dv.setUint32(off + 4, q.frac, p.le);
    dv.setUint32(off + 8, q.data.length, p.le);
    dv.setUint32(off + 12, q.wirelen, p.le);
    out.set(q.data, off + 16);
    off += 16 + q.data.length;
  }
  return out;
}

/** The bundled classic pcaps small enough to mutate whole. */
export function pcapSeeds(maxBytes = 80 * 1024): Pcap[] {
  return bundledCaptures(maxBytes)
    .map((f) => parsePcap(path.basename(f), Uint8Array.from(fs.readFileSync(f))))
    .filter((p): p is Pcap => p !== null && p.packets.length > 0);
}

type Edit =
  | { k: 'bytes'; pkt: number; muts: Mutation[] }
  /** A smaller snaplen for one packet: caplen cut, wire length kept. */
  | { k: 'snap'; pkt: number; caplen: number }
  | { k: 'wirelen'; pkt: number; v: number }
  /** Timestamps anywhere: backwards, far ahead, 0, the 32-bit end, fractions past the second. */
  | { k: 'time'; pkt: number; sec: number; frac: number }
  | { k: 'repeat'; pkt: number; times: number }
  | { k: 'drop'; pkt: number };

const pkt = fc.nat();
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('bytes' as const), pkt, muts: mutationsArb(4) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('snap' as const), pkt, caplen: fc.nat({ max: 80 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('wirelen' as const), pkt, v: fc.oneof(fc.constantFrom(0, 1, 14, 0xffff, 0xffffffff), fc.nat({ max: 0xffffffff })) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('time' as const),
      pkt,
      sec: fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff), fc.nat({ max: 0xffffffff })),
      frac: fc.oneof(fc.nat({ max: 999_999 }), fc.constantFrom(999_999_999, 1_000_000_000, 0xffffffff)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('repeat' as const), pkt, times: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drop' as const), pkt }) },
);

export interface JobCase {
  seed: number;
  edits: Edit[];
  /** Cut the written file at this fraction of its length (a capture cut off mid-write). */
  cut: number | null;
  args: string[];
}

/** softflowd-style options a user might give, in their valid ranges. */
const argsArb: fc.Arbitrary<string[]> = fc
  .record({
    version: fc.constantFrom('5', '9', '10'),
    track: fc.constantFrom('full', 'port', 'proto', 'ip', 'vlan', 'ether'),
    maxFlows: rarely(fc.integer({ min: 1, max: 64 }), 3),
    sampling: rarely(fc.integer({ min: 2, max: 5 }), 4),
    timeouts: rarely(fc.constantFrom('udp=1', 'tcp=2', 'maxlife=3', 'general=1', 'tcp.rst=0', 'icmp=5'), 3),
    biflow: fc.boolean(),
    mpls: rarely(fc.integer({ min: 0, max: 10 }), 3),
    time: rarely(fc.constantFrom('sec', 'milli', 'micro', 'nano'), 2),
    octets: fc.constantFrom('ip', 'link'),
  })
  .map((o) => {
    const a = ['-v', o.version, '-T', o.track, '--octets', o.octets];
    if (o.maxFlows !== null) a.push('-m', String(o.maxFlows));
    if (o.sampling !== null) a.push('-s', String(o.sampling));
    if (o.timeouts !== null) a.push('-t', o.timeouts);
    if (o.version !== '5') {
      if (o.mpls !== null) a.push('-x', String(o.mpls));
      if (o.time !== null) a.push('-A', o.time);
    }
    if (o.version === '10' && o.biflow) a.push('-b');
    return a;
  });

export function jobCaseArb(seeds: readonly Pcap[]): fc.Arbitrary<JobCase> {
  return fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    edits: fc.array(editArb, { minLength: 1, maxLength: 12 }),
    cut: rarely(fc.double({ min: 0, max: 1, noNaN: true }), 6),
    args: argsArb,
  });
}

/** The case's capture file and the number of packets it holds. */
export function buildCapture(seeds: readonly Pcap[], c: JobCase): { bytes: Uint8Array; packets: number } {
  const p = seeds[c.seed]!;
  const pk = p.packets.map((q) => ({ ...q }));
  for (const e of c.edits) {
    if (pk.length === 0) break;
    const i = e.pkt % pk.length;
    const q = pk[i]!;
    switch (e.k) {
      case 'bytes':
        q.data = mutate(q.data, e.muts);
        break;
      case 'snap':
        q.data = q.data.slice(0, Math.min(q.data.length, e.caplen));
        break;
      case 'wirelen':
        q.wirelen = e.v;
        break;
      case 'time':
        q.sec = e.sec;
        q.frac = e.frac;
        break;
      case 'repeat':
        pk.splice(i, 0, ...Array.from({ length: e.times }, () => ({ ...q })));
        break;
      case 'drop':
        pk.splice(i, 1);
        break;
    }
  }
  const whole = writePcap(p, pk);
  if (c.cut === null) return { bytes: whole, packets: pk.length };
  return { bytes: whole.slice(0, Math.floor(c.cut * whole.length)), packets: -1 };
}

export interface JobStats {
  runs: number;
  packets: number;
  flows: number;
  records: number;
  errors: number;
}

export function newJobStats(): JobStats {
  return { runs: 0, packets: 0, flows: 0, records: 0, errors: 0 };
}

/** One job; throws an Error saying what did not hold. */
export async function checkJobCase(seeds: readonly Pcap[], c: JobCase, dir: string, stats?: JobStats): Promise<void> {
  const { bytes, packets: inFile } = buildCapture(seeds, c);
  const file = path.join(dir, 'job.pcap');
  fs.writeFileSync(file, bytes);
  const sink = await udpSink();
  const what = `${seeds[c.seed]!.name} with ${c.edits.length} edit(s)${c.cut === null ? '' : ', cut'}, flowprobe ${c.args.join(' ')}`;
  try {
    const cfg = parseProbeArgs(['-r', file, '-n', `127.0.0.1:${sink.port}`, '--no-progress', '--export-rate', '0', ...c.args]);
    const logs: string[] = [];
    const r = await runFileJob(cfg, (l) => logs.push(l));
    const st = r.probe.table.stats;
    const fail = (why: string): never => {
      throw new Error(`${what}: ${why}`);
    };
    if (r.error !== null) {
      if (r.error.includes('\n') || !r.error.includes(file)) fail(`error is not one line naming the file: ${JSON.stringify(r.error)}`);
      if (inFile >= 0) fail(`a whole file gave an error: ${r.error}`);
    }
    if (r.packets !== st.packetsProcessed + st.nonIp + st.nonSampled) {
      fail(`read ${r.packets} packets, but processed ${st.packetsProcessed} + non-IP ${st.nonIp} + non-sampled ${st.nonSampled}`);
    }
    if (inFile >= 0 && r.packets !== inFile) fail(`read ${r.packets} packets of ${inFile}`);
    if (st.activeFlows !== 0 || r.probe.table.size !== 0) fail(`${r.probe.table.size} flows left after the end`);
    const integrity = r.probe.table.checkIntegrity();
    if (integrity) fail(`flow table: ${integrity}`);
    const ex = r.probe.exporter!.stats;
    const tr = r.probe.transport!.stats;
    if (tr.failures !== 0) fail(`${tr.failures} send failures to a loopback socket: ${tr.lastError}`);
    // Loopback delivers at once; the datagrams reach our handler on later turns of the event loop.
    for (let i = 0; i < 200 && sink.datagrams.length < ex.datagrams; i++) await new Promise((res) => setTimeout(res, 5));
    if (sink.datagrams.length !== ex.datagrams) fail(`${ex.datagrams} datagrams sent, ${sink.datagrams.length} received`);
    const ws = newWireStats();
    const s = new Session(ws);
    const version = cfg.version === 1 ? 5 : (cfg.version as 5 | 9 | 10);
    for (const d of sink.datagrams) s.feed(version, Uint8Array.from(d));
    if (ws.headerErrors || ws.setErrors) fail(`our own export has ${ws.headerErrors} bad headers, ${ws.setErrors} bad sets`);
    if (ws.records !== ex.records) fail(`${ex.records} records encoded, ${ws.records} decoded from the datagrams`);
    if (stats) {
      stats.runs++;
      stats.packets += r.packets;
      stats.flows += st.flowsExpired;
      stats.records += ex.records;
      if (r.error) stats.errors++;
    }
  } finally {
    await sink.close();
  }
}

/** One run = one job; `dir` (the caller's) holds the capture file each run writes. */
export function fileJobProperty(dir: string, stats?: JobStats): fc.IAsyncPropertyWithHooks<[JobCase]> {
  const seeds = pcapSeeds();
  return fc.asyncProperty(jobCaseArb(seeds), (c) => checkJobCase(seeds, c, dir, stats));
}
