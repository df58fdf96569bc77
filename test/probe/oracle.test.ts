/**
 * softflowd as the oracle: the same capture through `softflowd -r` and `flowprobe -r`, each exporting into a
 * real nfcapd, with timeouts longer than the capture (so no time-based expiry fires in either) and flowprobe's
 * `--octets link` (softflowd's byte count). Through nfdump, the multisets of (protocol, addresses, ports,
 * packets, bytes, TCP flags) must be equal, for v9, v5, IPFIX, -T proto, -T ip and a small -m that forces
 * maxflows evictions. Times are checked against the packets instead, since softflowd's are wrong.
 *
 * Where flowprobe differs from softflowd on purpose (shared/reference/README.md), the difference is listed below
 * with its reason and applied to the flows before they are compared; nothing else may differ.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBoth, flowKey, minus, LONG_TIMEOUTS } from './oracle-run.js';
import { packetGroups, directionalKey } from './packets.js';
import type { NfFlow } from '../helpers/nfcapd.js';
import { genpcapTool } from '../helpers/shared.js';

const PCAPS = path.resolve(__dirname, '../../pcaps');
const FILES = fs.readdirSync(PCAPS).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();

interface Variant {
  name: string;
  args: string[];
  /** The flow key is the 5-tuple: the packet-time check applies. */
  fullKey: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'NetFlow v9', args: ['-v', '9'], fullKey: true },
  { name: 'NetFlow v5', args: ['-v', '5'], fullKey: true },
  { name: 'IPFIX -A milli', args: ['-v', '10', '-A', 'milli'], fullKey: true },
  { name: 'v9 -T proto', args: ['-v', '9', '-T', 'proto'], fullKey: false },
  { name: 'v9 -T ip', args: ['-v', '9', '-T', 'ip'], fullKey: false },
  { name: 'v9 -m 16 (maxflows evictions)', args: ['-v', '9', '-m', '16'], fullKey: true },
];

/** Captures softflowd 1.1.0 exports nothing from, and why (../shared/pcaps/SOURCES.md). Ours must give flows. */
const SOFTFLOWD_CANNOT: Record<string, string> = {
  'zeek-linux_dlt_sll2.pcap': 'softflowd: "Unsupported datalink type 276" (SLL2)',
  'pcapplusplus-sll2.pcap': 'softflowd: "Unsupported datalink type 276" (SLL2)',
  'tcpdump-LINKTYPE_IPV4.pcap': 'softflowd: "Unsupported datalink type 228"',
  'tcpdump-LINKTYPE_IPV6.pcap': 'softflowd: "Unsupported datalink type 229"',
  'zeek-tcp-syslog.pcap': 'softflowd: "Unsupported datalink type 228"',
  'zeek-pppoe.pcap': 'softflowd treats PPPoE sessions as non-IP',
  'pcapplusplus-one_http_stream_rst.pcap': 'PPPoE inside QinQ: non-IP to softflowd',
  'zeek-q-in-q.pcap': 'softflowd treats stacked VLAN tags as non-IP',
  'zeek-vlan-qinqinq.pcap': 'softflowd treats stacked VLAN tags as non-IP',
  'pcapplusplus-MplsPackets.pcap': 'QinQ before MPLS: non-IP to softflowd',
  'tcpdump-mpls-traceroute.pcap': 'softflowd reads no MPLS on a PPP link',
  'tcpdump-quic_handshake.pcap': 'IPv6 on NULL with a BSD address family: non-IP to softflowd on Linux',
  'tcpdump-quic_handshake_truncated.pcap': 'IPv6 on NULL with a BSD address family: non-IP to softflowd on Linux',
};

/**
 * pcapng captures libpcap stops reading part-way (interfaces whose link types or snapshot lengths differ), so
 * softflowd cannot read them; flowprobe reads them whole (native/src/pcapng.cc). softflowd is given the same packets
 * as one pcap per link type (libpcapReadable) instead, and its flows from those are compared with flowprobe's.
 */
const LIBPCAP_REFUSES = new Set([
  'pcapng-test-generator-output_be-test008.pcapng',
  'pcapng-test-generator-output_le-test102.pcapng',
  'pcapplusplus-many_interfaces-1.pcapng',
  'pcapplusplus-ipsec.pcapng',
]);

type Adjust = (f: NfFlow) => NfFlow | null;

/** Deliberate differences within captures both tools read: how each side is mapped before comparing. */
interface Difference {
  reason: string;
  /** Applied to flowprobe's flows (null drops the flow). */
  ours?: Adjust;
  /** Applied to softflowd's flows. */
  theirs?: Adjust;
  /** Only for these variants (default: all). */
  only?: (v: Variant) => boolean;
}

const isV6 = (f: NfFlow): boolean => f.srcAddr.includes(':');

/** Differences that hold for every capture. */
const GENERAL: Difference[] = [
  {
    reason: 'flowprobe reads SCTP ports (RFC 9260 §3.1); softflowd gives SCTP flows no ports, so one association per address pair',
    ours: (f) => (f.proto === 132 ? { ...f, srcPort: 0, dstPort: 0 } : f),
  },
  {
    reason:
      "ICMPv6 type/code: softflowd's v9 template carries IE 139, which nfcapd 1.7.1's v9 decoder ignores (it shows 0); " +
      'flowprobe sends IE 32, the one RFC 3954 defines for v9',
    ours: (f) => (f.proto === 58 ? { ...f, dstPort: 0 } : f),
    theirs: (f) => (f.proto === 58 ? { ...f, dstPort: 0 } : f),
    only: (v) => v.args.includes('9'),
  },
];

/** Differences in particular captures. */
const PER_FILE: Record<string, Difference[]> = {
  'pcapplusplus-example2.pcap': [
    {
      reason: 'QinQ-tagged ICMP (10.118.10.x, 10.209.20.x) is non-IP to softflowd; flowprobe decodes stacked tags',
      ours: (f) => (/^10\.(118\.10|209\.20)\./.test(f.srcAddr) ? null : f),
    },
  ],
  'pcapplusplus-null_loopback.pcap': [
    { reason: 'IPv6 on NULL with a BSD address family is non-IP to softflowd on Linux', ours: (f) => (isV6(f) ? null : f) },
  ],
  'zeek-irc-353.pcap': [
    { reason: 'IPv6 on NULL with a BSD address family is non-IP to softflowd on Linux', ours: (f) => (isV6(f) ? null : f) },
  ],
  'pcapplusplus-ip6_fragments.pcap': [
    {
      reason: 'softflowd gives later IPv6 fragments protocol 0; flowprobe keeps their real protocol (UDP here)',
      theirs: (f) => (isV6(f) && f.proto === 0 ? { ...f, proto: 17 } : f),
      only: (v) => !v.args.includes('ip'),
    },
  ],
  'zeek-ipv6-fragmented-dns.pcap': [
    {
      reason: 'softflowd gives later IPv6 fragments protocol 0; flowprobe keeps their real protocol (UDP here)',
      theirs: (f) => (isV6(f) && f.proto === 0 ? { ...f, proto: 17 } : f),
      only: (v) => !v.args.includes('ip'),
    },
  ],
  'tcpdump-OSPFv3_with_AH.pcap': [
    {
      reason: 'IPv6 AH is an extension header (RFC 8200 §4.1): flowprobe reports the protocol it protects (OSPF, 89), softflowd stops at AH (51)',
      ours: (f) => (isV6(f) && f.proto === 89 ? { ...f, proto: 51 } : f),
    },
  ],
};

/** Applies the differences, then merges flows that became equal in key (as the other tool would have made one). */
function normalize(flows: NfFlow[], file: string, v: Variant, side: 'ours' | 'theirs'): string[] {
  const diffs = [...GENERAL, ...(PER_FILE[file] ?? [])].filter((d) => !d.only || d.only(v));
  const merged = new Map<string, NfFlow>();
  for (let f of flows) {
    let g: NfFlow | null = f;
    for (const d of diffs) {
      const fn = d[side];
      if (g && fn) g = fn(g);
    }
    if (!g) continue;
    f = g;
    const k = `${f.proto} ${f.srcAddr}:${f.srcPort} > ${f.dstAddr}:${f.dstPort}`;
    const m = merged.get(k);
    if (m) merged.set(k, { ...m, packets: m.packets + f.packets, bytes: m.bytes + f.bytes, tcpFlags: m.tcpFlags | f.tcpFlags });
    else merged.set(k, f);
  }
  return [...merged.values()].map(flowKey);
}

/** A genpcap.py capture: synthetic traffic of many flows, from the shared tools. */
let genFile = '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-oracle-'));
beforeAll(() => {
  const tool = genpcapTool();
  genFile = path.join(tmp, 'genpcap-20k.pcap');
  execFileSync('python3', [tool, genFile, '--packets', '20000', '--flows', '1500', '--seed', '7']);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function capturePath(file: string): string {
  return file === 'genpcap' ? genFile : path.join(PCAPS, file);
}

/** Wireshark's encapsulation numbers in LIBPCAP_REFUSES, as editcap names them. */
const EDITCAP_ENCAP: Record<string, string> = { '1': 'ether', '15': 'null' };

/** A pcapng's packets as one pcap per link type (editcap), which libpcap and so softflowd read. */
function libpcapReadable(file: string): string[] {
  const byEncap = new Map<string, string[]>();
  const frames = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.encap_type'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  for (const line of frames.split('\n')) {
    const [n, encap] = line.split('\t');
    // tshark counts custom blocks as frames without an encapsulation: not packets.
    if (!n || !encap) continue;
    byEncap.set(encap, [...(byEncap.get(encap) ?? []), n]);
  }
  return [...byEncap].map(([encap, numbers]) => {
    const name = EDITCAP_ENCAP[encap];
    if (!name) throw new Error(`${file}: encapsulation ${encap} is not in EDITCAP_ENCAP`);
    const out = path.join(tmp, `${path.basename(file)}-${name}.pcap`);
    execFileSync('editcap', ['-F', 'pcap', '-T', name, '-r', file, out, ...numbers], { stdio: ['ignore', 'ignore', 'pipe'] });
    return out;
  });
}

for (const variant of VARIANTS) {
  describe(`softflowd oracle, ${variant.name}`, () => {
    it.each([...FILES, 'genpcap'])('%s', async (file) => {
      const full = capturePath(file);
      const r = await runBoth(full, [...variant.args, ...LONG_TIMEOUTS], LIBPCAP_REFUSES.has(file) ? libpcapReadable(full) : [full]);
      expect(r.flowprobeError).toBeNull();

      if (SOFTFLOWD_CANNOT[file]) {
        expect(r.softflowd, SOFTFLOWD_CANNOT[file]).toEqual([]);
        // v5 carries no IPv6; every other variant must show what softflowd missed.
        if (!(variant.args.includes('5') && r.flowprobe.length === 0)) expect(r.flowprobe.length).toBeGreaterThan(0);
      } else {
        const theirs = normalize(r.softflowd, file, variant, 'theirs');
        const ours = normalize(r.flowprobe, file, variant, 'ours');
        const onlyTheirs = minus(theirs, ours);
        const onlyOurs = minus(ours, theirs);
        expect({ onlyTheirs, onlyOurs }, `${file}: flows that differ`).toEqual({ onlyTheirs: [], onlyOurs: [] });
      }

      if (variant.fullKey) {
        // Each flow's first and last time are its first and last packet's, to the millisecond.
        const groups = packetGroups(full, variant.args.includes('5'));
        const bad: string[] = [];
        for (const f of r.flowprobe) {
          const g = groups.get(directionalKey(f.proto, f.srcAddr, f.dstAddr, f.srcPort, f.dstPort));
          if (!g) bad.push(`no packets for ${flowKey(f)}`);
          // v5 and v9 give times as 32-bit milliseconds of uptime: a flow longer than that (test102's simple packet
          // blocks carry no time, so read as 1970, beside packets of 2012) has no true times in them.
          else if (!variant.args.includes('10') && g.lastMs - g.firstMs >= 2 ** 32) continue;
          else if (variant.args.includes('16')) {
            // Evicted flows cover a part of the packets: their times lie within the packets' span.
            if (f.startMs < g.firstMs || f.endMs > g.lastMs) bad.push(`${flowKey(f)} ${f.startMs}-${f.endMs} outside ${g.firstMs}-${g.lastMs}`);
          } else if (f.startMs !== g.firstMs || f.endMs !== g.lastMs || f.packets !== g.packets) {
            bad.push(`${flowKey(f)}: ${f.startMs}-${f.endMs} (${f.packets}) vs packets ${g.firstMs}-${g.lastMs} (${g.packets})`);
          }
        }
        expect(bad).toEqual([]);
      }
    });
  });
}
