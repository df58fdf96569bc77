import { describe, expect, it } from 'vitest';
import { IE, PEN_REVERSE } from '../../src/wire/ie.js';
import { IpfixEncoder, IpfixHeader } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import type { EncoderOptions, MessageEncoder, TimeMode } from '../../src/wire/template.js';
import { V5Encoder, V5Header, decodeV5 } from '../../src/wire/v5.js';
import { V9Encoder, V9Header } from '../../src/wire/v9.js';
import { collect } from './collect.js';
import { BOOT_MS, plain, sampleRecords, wireOrder } from './fixtures.js';
import { templateIndex } from '../../src/wire/template.js';

const EXPORT_MS = BOOT_MS + 90_000_123;

/** What a record should look like after a trip through a v9/IPFIX layout. */
function expected(r: FlowRecord, version: 9 | 10, o: EncoderOptions): FlowRecord {
  const e = new FlowRecord();
  e.copyFrom(r);
  const time = o.time ?? (version === 9 ? 'uptime' : 'milli');
  const keep = { uptime: 1e6, milli: 1e6, sec: 1e9, micro: 1e3, nano: 1 }[time];
  e.startNsec = Math.floor(e.startNsec / keep) * keep;
  e.endNsec = Math.floor(e.endNsec / keep) * keep;
  const icmp = (r.ipVersion === 4 && r.protocol === 1) || (r.ipVersion === 6 && r.protocol === 58);
  if (icmp) {
    e.srcPort = 0;
    e.tcpFlags = 0;
  }
  e.nextHop.fill(0);
  e.srcAs = e.dstAs = e.srcMask = e.dstMask = e.flowLabel = 0;
  if (!o.vlan && !o.mac) e.vlan = e.postVlan = 0;
  if (!o.mac) e.srcMacHi = e.srcMacLo = e.dstMacHi = e.dstMacLo = 0;
  const n = o.mplsLabels ?? 0;
  e.mplsDepth = Math.min(n, r.mplsDepth);
  for (let i = 0; i < 10; i++) e.mpls[i] = i < e.mplsDepth ? r.mpls[i] & ~0xff : 0; // TTL is not exported
  // Counters are 4 bytes in our templates and saturate.
  const sat = (v: number): number => Math.min(v, 0xffffffff);
  e.octets = sat(e.octets);
  e.packets = sat(e.packets);
  e.revOctets = sat(e.revOctets);
  e.revPackets = sat(e.revPackets);
  if (!o.biflow) e.revOctets = e.revPackets = e.revTos = e.revTcpFlags = 0;
  else if (icmp) e.revTcpFlags = 0;
  return e;
}

/** The messages carrying `recs`, and the records in the order they are on the wire (see wireOrder). */
function encodeAll(enc: MessageEncoder, recs: FlowRecord[], templatesEvery = 0): { msgs: Uint8Array[]; sent: FlowRecord[] } {
  const msgs: Uint8Array[] = [];
  const sent: FlowRecord[] = [];
  let i = 0;
  let n = 0;
  while (i < recs.length) {
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    if (n === 0 || (templatesEvery > 0 && n % templatesEvery === 0)) expect(enc.addTemplates()).toBe(true);
    const first = i;
    while (i < recs.length && enc.addRecord(recs[i])) i++;
    expect(i - first, 'a fresh datagram takes at least one record').toBeGreaterThan(0);
    msgs.push(Uint8Array.from(enc.finish()));
    sent.push(...wireOrder(recs.slice(first, i)));
    n++;
  }
  return { msgs, sent };
}

const VARIANTS: EncoderOptions[] = [
  {},
  { time: 'uptime' },
  { time: 'sec' },
  { time: 'milli' },
  { time: 'micro' },
  { time: 'nano' },
  { vlan: true },
  { mac: true, mplsLabels: 2 },
  { mplsLabels: 10, time: 'nano', mac: true },
];

describe.each([9, 10] as const)('NetFlow v%i round trip', (version) => {
  const make = (o: EncoderOptions): MessageEncoder => (version === 9 ? new V9Encoder(o) : new IpfixEncoder(o));
  const variants = version === 10 ? [...VARIANTS, { biflow: true }, { biflow: true, time: 'uptime' as TimeMode }] : VARIANTS;

  it.each(variants.map((o) => [JSON.stringify(o), o]))('every record comes back with layout %s', (_n, o) => {
    const { msgs, sent } = encodeAll(make(o), sampleRecords());
    const got = collect(version, msgs);
    expect(got.errors).toEqual([]);
    expect(got.unresolvedTimes).toBe(0);
    expect(got.flows.map(plain)).toEqual(sent.map((r) => plain(expected(r, version, o))));
  });

  it('uses the four softflowd template slots, with softflowd IDs for the default v9 layout only', () => {
    const enc = make({});
    const ids = enc.templates.map((t) => t.id);
    if (version === 9) expect(ids).toEqual([1024, 1025, 2048, 2049]);
    else expect(ids).toEqual([1028, 1029, 2052, 2053]); // IPFIX default time is milli: its own layout
    const other = make({ time: 'sec', vlan: true });
    for (const t of other.templates) expect(ids).not.toContain(t.id);
    // Every layout variant gets distinct IDs, all of them below the IPv6 range for IPv4.
    const seen = new Set<number>();
    for (const time of ['uptime', 'sec', 'milli', 'micro', 'nano'] as TimeMode[]) {
      for (const tag of [{}, { vlan: true }, { mac: true }]) {
        for (let m = 0; m <= 10; m++) {
          const e = make({ time, ...tag, mplsLabels: m });
          const [a, b, c, d] = e.templates.map((t) => t.id);
          expect(a).toBeLessThan(2048);
          expect(b).toBe(a + 1);
          expect(c).toBe(a + 1024);
          expect(d).toBe(c + 1);
          expect(seen.has(a)).toBe(false);
          seen.add(a);
        }
      }
    }
  });

  it('writes one data set per template, however the records of the templates come interleaved', () => {
    const enc = make({});
    const recs = sampleRecords();
    const kinds = new Set(recs.map((r) => templateIndex(r)));
    expect(kinds.size, 'the samples use every template').toBe(4);
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    expect(enc.addTemplates()).toBe(true);
    // IPv4, ICMP, IPv6 and ICMPv6 records taking turns: before, each change of template began a new set.
    for (const r of [...recs, ...recs]) expect(enc.addRecord(r)).toBe(true);
    const m = enc.finish();
    const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const ids: number[] = [];
    for (let p = version === 9 ? 20 : 16; p < m.length; p += dv.getUint16(p + 2)) ids.push(dv.getUint16(p));
    // Data sets have IDs from 256 (RFC 3954 §5.3, RFC 7011 §3.3.2); the options data set is one of its own.
    const flowIds = new Set(enc.templates.map((t) => t.id));
    expect(ids.filter((id) => flowIds.has(id))).toEqual(enc.templates.map((t) => t.id));
    const got = collect(version, [Uint8Array.from(m)]);
    expect(got.flows.length).toBe(2 * recs.length);
  });

  it('fills datagrams up to the size limit, pads every set to 4 bytes and numbers the messages', () => {
    const base = sampleRecords();
    const recs: FlowRecord[] = [];
    for (let i = 0; i < 500; i++) recs.push(base[i % base.length]);
    const enc = make({ maxDatagram: 1400 });
    const { msgs } = encodeAll(enc, recs, 16);
    expect(msgs.length).toBeGreaterThan(10);
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(1400);
      expect(m.length % 4).toBe(0);
    }
    // Full datagrams are full: the next record (plus a set header and padding) would not have fitted.
    const maxRecord = Math.max(...enc.templates.map((t) => t.fixedLength));
    for (const m of msgs.slice(0, -1)) expect(m.length).toBeGreaterThan(1400 - maxRecord - 4 - 3);
    const got = collect(version, msgs);
    expect(got.errors).toEqual([]);
    expect(got.flows.length).toBe(500);
    // Templates (and the options template where it says something) in datagram 0, 16, 32.
    const opt = enc.withOptions ? 1 : 0;
    expect(got.templates.length).toBe((4 + opt) * Math.ceil(msgs.length / 16));
    let flowsBefore = 0;
    const inFirst = collect(version, [msgs[0]]).flows.length;
    got.headers.forEach((h, k) => {
      const templ = k % 16 === 0;
      // Flow records in message k alone (message 0 supplies the templates).
      const dataInMsg = k === 0 ? inFirst : collect(version, [msgs[0], msgs[k]]).flows.length - inFirst;
      if (version === 9) {
        const v9 = h as V9Header;
        // RFC 3954 §5.1: packets counted from 0; count = template + options template + data + options data.
        expect(v9.sequence).toBe(k);
        expect(v9.count).toBe(dataInMsg + (templ ? 4 + 1 + 1 : 0));
      } else {
        const ix = h as IpfixHeader;
        // RFC 7011 §3.1: data records (options data included) sent before this message.
        expect(ix.sequence).toBe(flowsBefore);
        expect(ix.length).toBe(msgs[k].length);
      }
      flowsBefore += dataInMsg + (templ ? opt : 0);
    });
  });

  it('refuses a record that does not fit and leaves the datagram intact', () => {
    const enc = make({ maxDatagram: 512 });
    const r = sampleRecords()[6]; // IPv6: largest record
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    expect(enc.addTemplates()).toBe(true);
    let n = 0;
    while (enc.addRecord(r)) n++;
    const m = Uint8Array.from(enc.finish());
    expect(m.length).toBeLessThanOrEqual(512);
    expect(collect(version, [m]).flows.length).toBe(n);
    // A second finish() returns the same bytes and does not advance the sequence.
    expect(Uint8Array.from(enc.finish())).toEqual(m);
  });

  it('announces sampling in an options record', () => {
    const enc = make({ samplingInterval: 100, time: 'uptime', meteringProcessId: 4242, domainId: 7 });
    const got = collect(version, encodeAll(enc, sampleRecords()).msgs);
    expect(got.options.length).toBe(1);
    const o = got.options[0];
    expect(o.samplingRate()).toBe(100);
    if (version === 9) {
      expect([o.samplingInterval, o.samplingAlgorithm, o.scopeSystem]).toEqual([100, 1, 7]);
      expect((got.headers[0] as V9Header).sourceId).toBe(7);
    } else {
      expect([o.samplingPacketInterval, o.samplingPacketSpace, o.selectorAlgorithm]).toEqual([1, 99, 1]);
      expect(o.meteringProcessId).toBe(4242);
      // IPFIX with sysUpTime times tells the collector where uptime 0 is (IE 160).
      expect(o.systemInitTimeMs).toBe(BOOT_MS);
      expect((got.headers[0] as IpfixHeader).domainId).toBe(7);
    }
  });

  it('keeps times right when sysUpTime has wrapped past 2^32 ms', () => {
    const day = 86_400_000;
    const boot = BOOT_MS - 60 * day; // up for 60 days: sysUpTime wrapped once
    const recs = sampleRecords();
    const enc = make({ time: 'uptime' });
    enc.beginMessage(BOOT_MS + 90_000_000, boot);
    enc.addTemplates();
    for (const r of recs) expect(enc.addRecord(r)).toBe(true);
    const got = collect(version, [Uint8Array.from(enc.finish())]);
    expect(got.flows.map((f) => [f.startSec, f.startNsec, f.endSec, f.endNsec])).toEqual(
      wireOrder(recs).map((r) => {
        const e = expected(r, version, { time: 'uptime' });
        return [e.startSec, e.startNsec, e.endSec, e.endNsec];
      }),
    );
  });

  it('rejects impossible configurations with a clear error', () => {
    expect(() => make({ maxDatagram: 200 })).toThrow(/max datagram/);
    expect(() => make({ mplsLabels: 11 })).toThrow(/MPLS/);
    expect(() => make({ time: 'fortnights' as TimeMode })).toThrow(/time mode/);
    if (version === 9) expect(() => make({ biflow: true })).toThrow(/IPFIX/);
  });
});

describe('IPFIX specifics', () => {
  it('marks RFC 5103 reverse fields with the enterprise bit and PEN 29305', () => {
    const enc = new IpfixEncoder({ biflow: true });
    const rev = enc.templates[0].fields.filter((f) => f.pen !== 0);
    expect(rev.map((f) => [f.pen, f.id])).toEqual([
      [PEN_REVERSE, IE.octetDeltaCount],
      [PEN_REVERSE, IE.packetDeltaCount],
      [PEN_REVERSE, IE.ipClassOfService],
      [PEN_REVERSE, IE.tcpControlBits],
    ]);
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    enc.addTemplates();
    const m = enc.finish();
    // The first template's 17th field specifier (after 16 plain ones) has the enterprise bit and the PEN.
    const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const first = 16 + 4 + 4 + 16 * 4;
    expect(dv.getUint16(first)).toBe(0x8000 | IE.octetDeltaCount);
    expect(dv.getUint32(first + 4)).toBe(PEN_REVERSE);
  });

  it('cannot place sysUpTime times without systemInitTimeMilliseconds, and says so', () => {
    const enc = new IpfixEncoder({ time: 'uptime' });
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    enc.addTemplates();
    const withTemplates = Uint8Array.from(enc.finish());
    // Drop the options data: a collector that never saw IE 160.
    const got = collect(10, [withTemplates]);
    expect(got.unresolvedTimes).toBe(0);
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    for (const r of sampleRecords()) enc.addRecord(r);
    const data = Uint8Array.from(enc.finish());
    const templatesOnly = collect(10, [withTemplates, data]);
    expect(templatesOnly.flows[0].startSec).toBe(Math.floor((BOOT_MS) / 1000));
    // Only templates, no options record: times unresolved.
    const noOptions = collect(10, [stripSet(withTemplates, 257), data]);
    expect(noOptions.unresolvedTimes).toBe(2 * sampleRecords().length);
    expect(noOptions.flows[0].startSec).toBe(0);
  });
});

/** The message without the set whose ID is `id` (lengths fixed up). */
function stripSet(m: Uint8Array, id: number): Uint8Array {
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const parts: number[] = [];
  let off = 16;
  while (off < m.length) {
    const len = dv.getUint16(off + 2);
    if (dv.getUint16(off) !== id) for (let i = off; i < off + len; i++) parts.push(m[i]);
    off += len;
  }
  const out = new Uint8Array(16 + parts.length);
  out.set(m.subarray(0, 16));
  out.set(parts, 16);
  new DataView(out.buffer).setUint16(2, out.length);
  return out;
}

describe.each([5, 1] as const)('NetFlow v%i round trip', (version) => {
  it('carries every IPv4 field it has, to the millisecond, and counts the IPv6 ones it cannot carry', () => {
    const recs = sampleRecords();
    recs[0].nextHop[0] = 0x0a000001;
    recs[0].srcAs = 64500;
    recs[0].dstAs = 65001;
    recs[0].srcMask = 24;
    recs[0].dstMask = 16;
    const enc = new V5Encoder({ version, engineType: 1, engineId: 9, samplingInterval: version === 5 ? 10 : 1 });
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    for (const r of recs) expect(enc.addRecord(r)).toBe(true);
    expect(enc.skippedNotIpv4).toBe(3);
    const m = Uint8Array.from(enc.finish());
    expect(m.length).toBe((version === 5 ? 24 : 16) + 6 * 48);
    const flows: FlowRecord[] = [];
    const h = new V5Header();
    expect(decodeV5(m, h, new FlowRecord(), { onFlow: (r) => flows.push(copy(r)) })).toBe(0);
    const want = recs.filter((r) => r.ipVersion === 4).map((r) => {
      const e = new FlowRecord();
      e.ipVersion = 4;
      e.src[0] = r.src[0];
      e.dst[0] = r.dst[0];
      e.nextHop[0] = r.nextHop[0];
      e.inputIf = r.inputIf;
      e.outputIf = r.outputIf;
      e.packets = r.packets;
      e.octets = r.octets;
      e.startSec = r.startSec;
      e.startNsec = Math.floor(r.startNsec / 1e6) * 1e6;
      e.endSec = r.endSec;
      e.endNsec = Math.floor(r.endNsec / 1e6) * 1e6;
      e.srcPort = r.srcPort;
      e.dstPort = r.dstPort;
      e.tcpFlags = r.tcpFlags;
      e.protocol = r.protocol;
      e.tos = r.tos;
      if (version === 5) {
        e.srcAs = r.srcAs;
        e.dstAs = r.dstAs;
        e.srcMask = r.srcMask;
        e.dstMask = r.dstMask;
      }
      return e;
    });
    expect(flows.map(plain)).toEqual(want.map(plain));
    expect(h.count).toBe(6);
    expect(h.unixSecs * 1000 + h.unixNsecs / 1e6).toBe(EXPORT_MS);
    expect(h.sysUptime).toBe(EXPORT_MS - BOOT_MS);
    if (version === 5) {
      expect([h.engineType, h.engineId, h.samplingMode, h.samplingInterval]).toEqual([1, 9, 1, 10]);
    }
  });

  it(`splits at ${version === 5 ? 30 : 24} records and numbers flows`, () => {
    const r = sampleRecords()[0];
    const enc = new V5Encoder({ version });
    const msgs: Uint8Array[] = [];
    let left = 100;
    while (left > 0) {
      enc.beginMessage(EXPORT_MS, BOOT_MS);
      while (left > 0 && enc.addRecord(r)) left--;
      msgs.push(Uint8Array.from(enc.finish()));
    }
    const max = version === 5 ? 30 : 24;
    expect(msgs.length).toBe(Math.ceil(100 / max));
    let before = 0;
    for (const m of msgs) {
      const h = new V5Header();
      let n = 0;
      expect(decodeV5(m, h, new FlowRecord(), { onFlow: () => n++ })).toBe(0);
      expect(n).toBe(h.count);
      expect(n).toBeLessThanOrEqual(max);
      // v5 sequence: flows sent before this datagram (v1 has no sequence).
      expect(h.sequence).toBe(version === 5 ? before : 0);
      before += n;
    }
  });

  it('saturates counters that do not fit in 32 bits instead of wrapping them', () => {
    const r = sampleRecords()[0];
    r.octets = 2 ** 32 + 5;
    const enc = new V5Encoder({ version });
    enc.beginMessage(EXPORT_MS, BOOT_MS);
    enc.addRecord(r);
    const flows: FlowRecord[] = [];
    decodeV5(enc.finish(), new V5Header(), new FlowRecord(), { onFlow: (x) => flows.push(copy(x)) });
    expect(flows[0].octets).toBe(0xffffffff);
  });
});

function copy(r: FlowRecord): FlowRecord {
  const c = new FlowRecord();
  c.copyFrom(r);
  return c;
}
