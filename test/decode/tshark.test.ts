/**
 * The decoder against tshark, on every real capture we have: for each packet, what we decode (addresses,
 * protocol, ports, ICMP type/code, TCP flags, IP length, ToS/TTL/flow label, fragment state, VLAN ids, MPLS
 * labels) must be what tshark shows for the same frame's outer IP header. tshark runs with IP reassembly off, so
 * that it, like a flow probe, looks at each packet on its own.
 *
 * Where we differ on purpose, KNOWN_DIFFERENCES says so and why; a listed difference that no longer occurs fails
 * the test too, so the list stays true.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BATCH_HEADER, OFF_CAPLEN, OFF_WIRELEN } from '../../src/capture/batch.js';
import { openFile } from '../../src/capture/file.js';
import { formatAddr } from '../../src/decode/address.js';
import { decodePacket } from '../../src/decode/index.js';
import { DecodeStatus, Fragment, PacketView } from '../../src/decode/packet.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CAPTURE_DIRS = [path.join(repo, 'pcaps'), path.resolve(repo, '../shared/pcaps')];

/** What we decode, per packet, in the terms the comparison uses. */
interface Ours {
  status: DecodeStatus;
  ipVersion: number;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  ipLen: number;
  tos: number;
  ttl: number;
  flowLabel: number;
  fragment: Fragment;
  vlan: number;
  vlanInner: number;
  labels: number[];
  truncated: boolean;
}

const FIELDS = [
  'frame.number',
  // Empty for the custom blocks of a pcapng, which tshark lists as frames but hold no packet.
  'frame.encap_type',
  'frame.protocols',
  'vlan.id',
  'ieee8021ad.id',
  'mpls.label',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.len',
  'ip.dsfield',
  'ip.ttl',
  'ip.flags.mf',
  'ip.frag_offset',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.tclass',
  'ipv6.flow',
  'ipv6.hlim',
  'ipv6.hopopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.dstopts.nxt',
  'ah.next_header',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'udp.srcport',
  'udp.dstport',
  'sctp.srcport',
  'sctp.dstport',
  'dccp.srcport',
  'dccp.dstport',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
] as const;
type Field = (typeof FIELDS)[number];
/** Every occurrence of each field in one frame (tshark -E occurrence=a), outermost first. */
type Row = Record<Field, string[]>;

/** IPv6 extension headers as tshark names them in frame.protocols, and the field holding each one's next header. */
const IPV6_EXT_LAYERS: Record<string, Field> = {
  'ipv6.hopopts': 'ipv6.hopopts.nxt',
  'ipv6.routing': 'ipv6.routing.nxt',
  'ipv6.fraghdr': 'ipv6.fraghdr.nxt',
  'ipv6.dstopts': 'ipv6.dstopts.nxt',
  ah: 'ah.next_header',
};
/** Transport layers with ports, and tshark's port fields for each. */
const PORT_LAYERS: Record<string, [Field, Field]> = {
  tcp: ['tcp.srcport', 'tcp.dstport'],
  udp: ['udp.srcport', 'udp.dstport'],
  udplite: ['udp.srcport', 'udp.dstport'],
  sctp: ['sctp.srcport', 'sctp.dstport'],
  dccp: ['dccp.srcport', 'dccp.dstport'],
};

/**
 * Differences on purpose. `frames` are tshark frame numbers (or 'all' packets of the file that differ in that
 * field); `field` is the name the comparison reports.
 */
interface Known {
  file: string;
  frames: number[] | 'all';
  field: string;
  why: string;
}
const KNOWN_DIFFERENCES: Known[] = [
  {
    file: 'pcapplusplus-MplsPackets.pcap',
    frames: [2],
    field: 'vlan',
    why:
      'the VLAN tag is inside an Ethernet pseudowire (MPLS, control word, customer frame); our VLAN fields describe ' +
      'the captured link, which is untagged, while tshark reports the first tag anywhere in the frame',
  },
  {
    file: 'pcapplusplus-ipv4-options.pcap',
    frames: [6, 7],
    field: 'dst',
    why:
      'strict/loose source route option: tshark shows the final destination from the option (here 0.0.0.0); we keep ' +
      'the destination field of the header on the wire, as a router exporting the packet (and softflowd) would',
  },
  {
    file: 'pcapplusplus-null_loopback.pcap',
    frames: [3],
    field: 'ip',
    why:
      'the 4-byte NULL header is 0f 00 08 00 (a Cisco HDLC header, not an address family); tshark guesses an ' +
      'ethertype in it, while the link-type registry (and tcpdump, and libpcap filters) define only an address ' +
      'family there, so we count it as non-IP',
  },
];

/**
 * Files our reader stops part-way, and why; we compare the packets it delivered before the error. None now: the
 * pcapng files libpcap refused (interfaces of other link types or snapshot lengths) are read by native/src/pcapng.cc.
 */
const KNOWN_READ_ERRORS: { file: string; error: RegExp; why: string }[] = [];

function listCaptures(): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const dir of CAPTURE_DIRS) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(pcap|pcapng|cap)$/.test(name)) continue;
      const file = path.join(dir, name);
      const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (seen.get(name) === digest) continue; // the project's copy of a shared capture
      seen.set(name, digest);
      out.push(file);
    }
  }
  return out;
}

interface OurRead {
  packets: Ours[];
  error: string | null;
}

function decodeFile(file: string): OurRead {
  const packets: Ours[] = [];
  const v = new PacketView();
  let error: string | null = null;
  let src;
  try {
    src = openFile(file);
  } catch (e) {
    return { packets, error: (e as Error).message };
  }
  try {
    for (;;) {
      let n: number;
      try {
        n = src.next();
      } catch (e) {
        error = (e as Error).message;
        break;
      }
      if (n < 0) break;
      let off = 0;
      for (let i = 0; i < n; i++) {
        const caplen = src.buf.readUInt32LE(off + OFF_CAPLEN);
        const wirelen = src.buf.readUInt32LE(off + OFF_WIRELEN);
        decodePacket(src.buf, off + BATCH_HEADER, caplen, wirelen, src.linkType, v);
        packets.push({
          status: v.status,
          ipVersion: v.ipVersion,
          src: formatAddr(v.src, v.ipVersion),
          dst: formatAddr(v.dst, v.ipVersion),
          protocol: v.protocol,
          srcPort: v.srcPort,
          dstPort: v.dstPort,
          tcpFlags: v.tcpFlags,
          icmpType: v.icmpType,
          icmpCode: v.icmpCode,
          ipLen: v.ipLen,
          tos: v.tos,
          ttl: v.ttl,
          flowLabel: v.flowLabel,
          fragment: v.fragment,
          vlan: v.vlan,
          vlanInner: v.vlanInner,
          labels: Array.from(v.mpls.subarray(0, v.mplsDepth), (e) => e >>> 12),
          truncated: v.truncated,
        });
        off += BATCH_HEADER + ((caplen + 3) & ~3);
      }
    }
  } finally {
    src.close();
  }
  return { packets, error };
}

async function tsharkFile(file: string): Promise<Row[]> {
  const args = ['-n', '-r', file, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields'];
  args.push('-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t');
  for (const f of FIELDS) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const cols = line.split('\t');
      const row = {} as Row;
      FIELDS.forEach((f, i) => {
        const c = cols[i] ?? '';
        // frame.protocols is ':'-separated and never aggregated; every other field is ','-aggregated.
        row[f] = c === '' ? [] : f === 'frame.protocols' ? [c] : c.split(',');
      });
      return row;
    })
    .filter((row) => row['frame.encap_type'].length > 0);
}

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

/** Compares one packet; returns "field: ours X, tshark Y" lines. */
function comparePacket(o: Ours, t: Row): { field: string; text: string }[] {
  const diffs: { field: string; text: string }[] = [];
  const diff = (field: string, ours: unknown, theirs: unknown) => {
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      diffs.push({ field, text: `${field}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(theirs)}` });
    }
  };

  // tshark files 802.1Q tags under vlan.id and 802.1ad S-tags under ieee8021ad.id: take them in frame order.
  const layers = (t['frame.protocols'][0] ?? '').split(':');
  const vids: number[] = [];
  let q = 0;
  let ad = 0;
  for (const l of layers) {
    if (l === 'vlan') vids.push(Number(t['vlan.id'][q++]));
    else if (l === 'ieee8021ad') vids.push(Number(t['ieee8021ad.id'][ad++]));
  }
  diff('vlan', [o.vlan, o.vlanInner], [vids[0] ?? 0, vids[1] ?? 0]);
  diff('mpls', o.labels, t['mpls.label'].map(Number).slice(0, 10));

  const ipAt = layers.findIndex((l) => l === 'ip' || l === 'ipv6');
  diff('ip', o.status === DecodeStatus.OK ? o.ipVersion : 'not IP', ipAt < 0 ? 'not IP' : layers[ipAt] === 'ip' ? 4 : 6);
  if (ipAt < 0 || o.status !== DecodeStatus.OK) return diffs;

  let protocol: number | undefined;
  let fragment = Fragment.NONE;
  let upper: string;
  if (layers[ipAt] === 'ip') {
    diff('src', o.src, t['ip.src'][0]);
    diff('dst', o.dst, t['ip.dst'][0]);
    diff('ipLen', o.ipLen, num(t['ip.len'][0]));
    diff('tos', o.tos, num(t['ip.dsfield'][0]));
    diff('ttl', o.ttl, num(t['ip.ttl'][0]));
    protocol = num(t['ip.proto'][0]);
    if (Number(t['ip.frag_offset'][0] ?? 0) !== 0) fragment = Fragment.LATER;
    else if (Number(t['ip.flags.mf'][0] ?? 0) !== 0) fragment = Fragment.FIRST;
    upper = layers[ipAt + 1] ?? '';
  } else {
    diff('src', o.src, t['ipv6.src'][0]);
    diff('dst', o.dst, t['ipv6.dst'][0]);
    diff('ipLen', o.ipLen, Number(t['ipv6.plen'][0]) + 40);
    diff('tos', o.tos, num(t['ipv6.tclass'][0]));
    diff('ttl', o.ttl, num(t['ipv6.hlim'][0]));
    diff('flowLabel', o.flowLabel, num(t['ipv6.flow'][0]));
    // Follow the outer chain as tshark laid it out, taking each extension header's next-header field in turn.
    protocol = num(t['ipv6.nxt'][0]);
    const used: Record<string, number> = {};
    let i = ipAt + 1;
    for (; i < layers.length && layers[i] in IPV6_EXT_LAYERS; i++) {
      const field = IPV6_EXT_LAYERS[layers[i]];
      const k = (used[field] = (used[field] ?? -1) + 1);
      protocol = num(t[field][k]);
      if (layers[i] === 'ipv6.fraghdr') {
        if (Number(t['ipv6.fraghdr.offset'][k] ?? 0) !== 0) fragment = Fragment.LATER;
        else if (Number(t['ipv6.fraghdr.more'][k] ?? 0) !== 0) fragment = Fragment.FIRST;
      }
    }
    upper = layers[i] ?? '';
  }
  diff('protocol', o.protocol, protocol);
  diff('fragment', o.fragment, fragment);

  const ports = PORT_LAYERS[upper];
  if (upper === 'icmp' || upper === 'icmpv6') {
    const type = num(t[`${upper}.type`][0]);
    const code = num(t[`${upper}.code`][0]);
    diff('icmp', [o.icmpType, o.icmpCode, o.srcPort, o.dstPort], [type, code, 0, ((type ?? 0) << 8) | (code ?? 0)]);
  } else if (ports !== undefined) {
    diff('ports', [o.srcPort, o.dstPort], [num(t[ports[0]][0]) ?? 0, num(t[ports[1]][0]) ?? 0]);
    if (upper === 'tcp') diff('tcpFlags', o.tcpFlags, t['tcp.flags'][0] === undefined ? 0 : Number(t['tcp.flags'][0]) & 0xff);
  } else if (o.protocol !== 1 && o.protocol !== 58) {
    diff('ports', [o.srcPort, o.dstPort], [0, 0]);
  }
  return diffs;
}

function known(file: string, frame: number, field: string): Known | undefined {
  return KNOWN_DIFFERENCES.find(
    (k) => k.file === file && k.field === field && (k.frames === 'all' || k.frames.includes(frame)),
  );
}

describe('decoder against tshark on every real capture', () => {
  const captures = listCaptures();

  it('finds the captures and tshark', async () => {
    expect(captures.length).toBeGreaterThanOrEqual(60);
    const { stdout } = await run('tshark', ['--version']);
    expect(stdout).toMatch(/TShark/);
  });

  it(
    'decodes every packet as tshark does, apart from the listed differences',
    async () => {
      // Two tshark processes at a time: the machines have two cores.
      const rows = new Map<string, Row[]>();
      const queue = [...captures];
      await Promise.all(
        [0, 1].map(async () => {
          for (let f = queue.shift(); f !== undefined; f = queue.shift()) rows.set(f, await tsharkFile(f));
        }),
      );

      const unexpected: string[] = [];
      const usedKnown = new Set<Known>();
      const usedReadErrors = new Set<string>();
      let packets = 0;
      for (const file of captures) {
        const name = path.basename(file);
        const ours = decodeFile(file);
        const theirs = rows.get(file)!;
        if (ours.error !== null) {
          const k = KNOWN_READ_ERRORS.find((e) => e.file === name && e.error.test(ours.error!));
          if (k === undefined) unexpected.push(`${name}: read error "${ours.error}" after ${ours.packets.length} packets`);
          else usedReadErrors.add(name);
        } else if (ours.packets.length !== theirs.length) {
          unexpected.push(`${name}: ${ours.packets.length} packets, tshark ${theirs.length}`);
        }
        const n = Math.min(ours.packets.length, theirs.length);
        for (let i = 0; i < n; i++) {
          const frame = Number(theirs[i]['frame.number'][0]);
          for (const d of comparePacket(ours.packets[i], theirs[i])) {
            const k = known(name, frame, d.field);
            if (k === undefined) unexpected.push(`${name} #${frame} ${d.text}`);
            else usedKnown.add(k);
          }
        }
        packets += n;
      }
      const stale = KNOWN_DIFFERENCES.filter((k) => !usedKnown.has(k)).map((k) => `${k.file} ${k.field}: ${k.why}`);
      const staleErrors = KNOWN_READ_ERRORS.filter((k) => !usedReadErrors.has(k.file)).map((k) => k.file);
      expect(unexpected.slice(0, 60), `${unexpected.length} unexpected differences`).toEqual([]);
      expect(stale, 'listed differences that no longer occur').toEqual([]);
      expect(staleErrors, 'listed read errors that no longer occur').toEqual([]);
      expect(packets).toBeGreaterThan(6000);
      console.log(`tshark comparison: ${captures.length} captures, ${packets} packets`);
    },
    240_000,
  );
});
