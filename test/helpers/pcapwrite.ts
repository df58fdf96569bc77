/**
 * Writes datagrams into a classic pcap file (Ethernet / IPv4 / UDP, 127.0.0.1 to 127.0.0.1) so that tshark can
 * judge exactly the bytes an encoder produced, without capturing on an interface.
 */
import { writeFile } from 'node:fs/promises';

/** pcap file header magic and link type (tcpdump.org LINKTYPE_ETHERNET = 1). */
const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

export interface PcapDatagram {
  payload: Uint8Array;
  /** Capture time, ms since the epoch (default: 1 ms apart from 2026-01-01). */
  timeMs?: number;
}

function ipChecksum(b: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += b.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One Ethernet frame carrying `payload` in UDP from srcPort to dstPort on 127.0.0.1. */
export function udpFrame(payload: Uint8Array, srcPort: number, dstPort: number): Buffer {
  const f = Buffer.alloc(14 + 20 + 8 + payload.length);
  f.writeUInt16BE(0x0800, 12); // EtherType IPv4; MACs zero as on loopback
  const ip = 14;
  f[ip] = 0x45;
  f.writeUInt16BE(20 + 8 + payload.length, ip + 2);
  f[ip + 8] = 64; // TTL
  f[ip + 9] = 17; // UDP
  f.writeUInt32BE(0x7f000001, ip + 12);
  f.writeUInt32BE(0x7f000001, ip + 16);
  f.writeUInt16BE(ipChecksum(f, ip, 20), ip + 10);
  const udp = ip + 20;
  f.writeUInt16BE(srcPort, udp);
  f.writeUInt16BE(dstPort, udp + 2);
  f.writeUInt16BE(8 + payload.length, udp + 4);
  // UDP checksum 0 = none, allowed over IPv4 (RFC 768).
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(f, udp + 8);
  return f;
}

export interface PcapRecord {
  bytes: ArrayLike<number>;
  sec: number;
  usec?: number;
}

/** A classic little-endian µs pcap file of one link type holding the records whole (caplen = wire length). */
export function pcapBytes(linkType: number, records: PcapRecord[]): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(PCAP_MAGIC, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16); // snaplen
  gh.writeUInt32LE(linkType, 20);
  parts.push(gh);
  for (const r of records) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(r.sec, 0);
    rh.writeUInt32LE(r.usec ?? 0, 4);
    rh.writeUInt32LE(r.bytes.length, 8);
    rh.writeUInt32LE(r.bytes.length, 12);
    parts.push(rh, Buffer.from(Uint8Array.from(r.bytes)));
  }
  return Buffer.concat(parts);
}

export async function writePcap(path: string, datagrams: PcapDatagram[], dstPort: number, srcPort = 40404): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  const records = datagrams.map((d, i) => {
    const t = d.timeMs ?? t0 + i;
    return { bytes: udpFrame(d.payload, srcPort, dstPort), sec: Math.floor(t / 1000), usec: (t % 1000) * 1000 };
  });
  await writeFile(path, pcapBytes(LINKTYPE_ETHERNET, records));
}
