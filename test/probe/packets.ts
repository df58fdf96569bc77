/**
 * The packets of a capture grouped by directional flow key (protocol, addresses, ports as flowprobe -T full keys
 * them), with their first/last time in ms and count: what each exported flow's times are checked against.
 */
import { openFile } from '../../src/capture/file.js';
import { PacketView, DecodeStatus, Fragment } from '../../src/decode/packet.js';
import { formatAddr } from '../../src/decode/address.js';
import { pumpBatch } from '../../src/probe/pump.js';

export interface PacketGroup {
  firstMs: number;
  lastMs: number;
  packets: number;
}

export function directionalKey(proto: number, src: string, dst: string, sport: number, dport: number): string {
  return `${proto} ${src}:${sport} > ${dst}:${dport}`;
}

/** Groups a capture's IP packets; v4only drops IPv6 (NetFlow v5 carries none). Stops where libpcap stops. */
export function packetGroups(file: string, v4only: boolean): Map<string, PacketGroup> {
  const groups = new Map<string, PacketGroup>();
  const src = openFile(file);
  const v = new PacketView();
  try {
    for (;;) {
      let n: number;
      try {
        n = src.next();
      } catch {
        break;
      }
      if (n < 0) break;
      pumpBatch(src, n, v, {
        onPacket(p) {
          if (p.status !== DecodeStatus.OK || (v4only && p.ipVersion !== 4)) return;
          const later = p.fragment === Fragment.LATER;
          const k = directionalKey(
            p.protocol,
            formatAddr(p.src, p.ipVersion),
            formatAddr(p.dst, p.ipVersion),
            later ? 0 : p.srcPort,
            later ? 0 : p.dstPort,
          );
          const ms = p.tsSec * 1000 + Math.floor(p.tsNsec / 1e6);
          const g = groups.get(k);
          if (!g) groups.set(k, { firstMs: ms, lastMs: ms, packets: 1 });
          else {
            g.firstMs = Math.min(g.firstMs, ms);
            g.lastMs = Math.max(g.lastMs, ms);
            g.packets++;
          }
        },
      });
    }
  } finally {
    src.close();
  }
  return groups;
}
