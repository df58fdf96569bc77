import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SharedBudget, type SessionConfig, type SessionSink } from '../../src/collect/session.js';
import { FlowFileWriter } from '../../src/store/writer.js';
import { compileTranscoder } from '../../src/wire/compiled.js';
import { FILE_TEMPLATES } from '../../src/store/format.js';
import { FlowRecord } from '../../src/wire/record.js';
import { flowTemplates, type EncoderOptions, type Template } from '../../src/wire/template.js';
import { IPFIX, SESSION_CONFIG, V9, dataSet, flow, ipfixMessage, layoutA, layoutB, templateSet, v9Message } from './messages.js';

const NOW = 1_800_000_000_000;
const CFG: SessionConfig = SESSION_CONFIG;

let dirs: string[] = [];
beforeEach(() => {
  dirs = [];
});
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function options(version: 9 | 10, o: EncoderOptions = {}): Required<EncoderOptions> {
  return {
    maxDatagram: 1400, domainId: 0, time: version === 9 ? 'uptime' : 'milli', vlan: false, mac: false, mplsLabels: 0,
    biflow: false, samplingInterval: 1, meteringProcessId: 0, ...o,
  };
}

/** Record n of a mix: IPv4 and IPv6, ICMP, times in the future or ending before they start, large counters. */
function record(n: number): FlowRecord {
  const r = flow(n % 200_000, 1_799_999_000_000 + n * 7, 500 + (n % 13));
  if (n % 5 === 1) {
    r.ipVersion = 6;
    r.src.set([0x20010db8, 0, n, 1]);
    r.dst.set([0x20010db8, 0xffff, 1, n]);
  }
  if (n % 7 === 2) {
    r.protocol = 1;
    r.dstPort = 8 * 256;
  } else {
    r.protocol = n % 2 ? 6 : 17;
    r.srcPort = 1024 + n;
    r.dstPort = 80;
    r.tcpFlags = n & 0x3f;
  }
  r.tos = n & 0xfc;
  r.inputIf = n % 3;
  r.outputIf = 7;
  r.vlan = n % 4095;
  r.srcMacHi = 0x0200;
  r.srcMacLo = n;
  r.packets = n % 11 === 0 ? 4_000_000_000 : n + 1;
  r.octets = n % 11 === 0 ? 4_294_967_295 : 100 * (n + 1);
  r.revPackets = n % 9;
  r.revOctets = 64 * (n % 9);
  // Suspect ones: two hours ahead of the datagram, or ending a second before they start.
  if (n % 97 === 3) {
    r.startSec += 7200;
    r.endSec += 7200;
  }
  if (n % 89 === 4) r.endSec -= 2;
  return r;
}

type Kind = 'v4' | 'icmp4' | 'v6' | 'icmp6';
const kind = (r: FlowRecord): Kind =>
  r.ipVersion === 6 ? (r.protocol === 58 || r.protocol === 1 ? 'icmp6' : 'v6') : r.protocol === 1 ? 'icmp4' : 'v4';

/** Datagrams of `count` records in sets of up to 15 per template, the template set every 20 datagrams. */
function datagrams(version: 9 | 10, templates: Template[], count: number): Uint8Array[] {
  const byKind = (t: Template): Kind => {
    const v6 = t.fields.some((f) => f.id === 27);
    const icmp = t.fields.some((f) => f.id === 32 || f.id === 139);
    return v6 ? (icmp ? 'icmp6' : 'v6') : icmp ? 'icmp4' : 'v4';
  };
  const out: Uint8Array[] = [];
  let n = 0;
  for (let d = 0; n < count; d++) {
    const sets: Uint8Array[] = [];
    if (d % 20 === 0) sets.push(templateSet(version === 9 ? V9 : IPFIX, templates));
    const groups = new Map<Template, FlowRecord[]>();
    for (let i = 0; i < 30 && n < count; i++, n++) {
      const r = record(n);
      const t = templates.length === 4 ? templates.find((x) => byKind(x) === kind(r))! : templates[n % templates.length];
      if (templates.length !== 4 && r.ipVersion === 6) r.ipVersion = 4;
      (groups.get(t) ?? groups.set(t, []).get(t)!).push(r);
    }
    for (const [t, rs] of groups) for (let i = 0; i < rs.length; i += 15) sets.push(dataSet(t, rs.slice(i, i + 15)));
    out.push(version === 9 ? v9Message(d, sets, 1_800_000_000, 1_000_000) : ipfixMessage(n, sets, 1_800_000_000));
  }
  return out;
}

/** Feeds the datagrams to one session writing into a fresh directory; the files' names and bytes, and its counters. */
function store(version: 9 | 10, input: Uint8Array[], direct: boolean, exporter6 = false, sampling = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'flowcap-direct-'));
  dirs.push(dir);
  const now = (): number => NOW;
  const w = new FlowFileWriter({ dir, interval: 300, now, keepEmpty: true });
  const s = new FlowFileWriter({ dir, interval: 300, now, prefix: 'suspect' });
  let commits = 0;
  const commit = w.commit.bind(w);
  w.commit = (k, n, p, o) => {
    commits++;
    commit(k, n, p, o);
  };
  const sink: SessionSink = { onFlow: (r) => w.onFlow(r), onSuspect: (r) => s.onFlow(r), direct: direct ? w : null };
  const exporter = exporter6
    ? { words: Uint32Array.of(0x20010db8, 0, 0, 0x99), version: 6 }
    : { words: Uint32Array.of(0x7f000001, 0, 0, 0), version: 4 };
  const session = new Session('test', version, exporter, { ...CFG, sampling }, new SharedBudget(1e6, 1e8), sink);
  input.forEach((d, i) => session.process(d, NOW + i));
  expect(w.close()).toBe(true);
  expect(s.close()).toBe(true);
  const files = Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
  return { files, counters: { ...session.counters, errors: [...session.counters.errors] }, stats: { ...w.stats }, commits };
}

function same(version: 9 | 10, input: Uint8Array[], opts: { exporter6?: boolean; sampling?: number; used?: boolean } = {}): void {
  const a = store(version, input, false, opts.exporter6, opts.sampling);
  const b = store(version, input, true, opts.exporter6, opts.sampling);
  expect(Object.keys(b.files)).toEqual(Object.keys(a.files));
  for (const f of Object.keys(a.files)) expect(Buffer.compare(b.files[f], a.files[f]), f).toBe(0);
  expect(b.counters).toEqual(a.counters);
  expect(b.stats).toEqual(a.stats);
  expect(a.commits).toBe(0);
  if (opts.used ?? true) expect(b.commits).toBeGreaterThan(0);
  else expect(b.commits).toBe(0);
}

describe('records written straight from the datagram into the file', () => {
  it('give the same files, byte for byte, as records decoded and written one by one (v9, the exporter templates)', () => {
    const input = datagrams(9, flowTemplates(V9, options(9)), 5000);
    same(9, input);
    same(9, input, { exporter6: true });
  });

  it('the same for IPFIX with absolute times and VLAN fields, suspect times kept apart the same way', () => {
    same(10, datagrams(10, flowTemplates(IPFIX, options(10, { vlan: true })), 5000));
    same(10, datagrams(10, [layoutA(10, 300), layoutB(10, 301)], 3000));
  });

  it('leave sampled exporters, fields without inline text (MACs) and layouts picked per record (RFC 5103) to the one-by-one path', () => {
    same(10, datagrams(10, flowTemplates(IPFIX, options(10, { mac: true })), 2000), { used: false });
    same(10, datagrams(10, flowTemplates(IPFIX, options(10)), 2000), { sampling: -3, used: false });
    same(10, datagrams(10, flowTemplates(IPFIX, options(10, { biflow: true })), 2000), { used: false });
  });

  it('are not compiled for a template whose records need another file layout than the one given', () => {
    const [v4, , v6] = flowTemplates(V9, options(9));
    expect(compileTranscoder(v4, FILE_TEMPLATES[0])).not.toBeNull();
    expect(compileTranscoder(v4, FILE_TEMPLATES[4])).toBeNull();
    expect(compileTranscoder(v6, FILE_TEMPLATES[0])).toBeNull();
    const [bi] = flowTemplates(IPFIX, options(10, { biflow: true }));
    expect(compileTranscoder(bi, FILE_TEMPLATES[0])).toBeNull();
  });
});
