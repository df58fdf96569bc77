/**
 * Hand-built packets for the decoder tests: each builder writes the header fields the RFC lays out, byte by byte,
 * so that a test states exactly what is on the wire. Addresses are given as bytes (v4 dotted quads split by
 * hand, v6 as hex), not through the parser under test.
 */
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/packet.js';

export type Bytes = number[];

export const MAC_A: Bytes = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];
export const MAC_B: Bytes = [0x02, 0x00, 0x5e, 0xa0, 0xb0, 0xc0];

export function cat(...parts: Bytes[]): Bytes {
  return parts.flat();
}

export function be16(n: number): Bytes {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function be32(n: number): Bytes {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function le32(n: number): Bytes {
  return be32(n).reverse();
}

/** "192.0.2.1" → 4 bytes. */
export function v4(s: string): Bytes {
  return s.split('.').map(Number);
}

/** 32 hex digits → 16 bytes. */
export function v6(hex: string): Bytes {
  const out: Bytes = [];
  for (let i = 0; i < 32; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

export const V6_A = v6('20010db8000000000000000000000001');
export const V6_B = v6('20010db80000000000000000000000ff');
/** The words decodePacket must produce for V6_A / V6_B. */
export const V6_A_WORDS = [0x20010db8, 0, 0, 1];
export const V6_B_WORDS = [0x20010db8, 0, 0, 0xff];

export function eth(type: number, dst: Bytes = MAC_B, src: Bytes = MAC_A): Bytes {
  return cat(dst, src, be16(type));
}

/** An 802.1Q-style tag as it follows the tag's own ethertype: TCI (PCP, DEI, VID) then the next ethertype. */
export function tag(vid: number, next: number, pcp = 0): Bytes {
  return cat(be16((pcp << 13) | vid), be16(next));
}

/** RFC 3032 §2.1 label stack entry. */
export function mpls(label: number, bottom: boolean, ttl = 64, tc = 0): Bytes {
  return be32(((label << 12) | (tc << 9) | (bottom ? 0x100 : 0) | ttl) >>> 0);
}

export interface Ipv4Opts {
  src?: Bytes;
  dst?: Bytes;
  proto: number;
  payload?: Bytes;
  tos?: number;
  ttl?: number;
  /** Extra option bytes (a multiple of 4). */
  options?: Bytes;
  /** The 16-bit flags+offset field. */
  frag?: number;
  /** Override the total length field. */
  totalLen?: number;
  /** Override the IHL nibble. */
  ihl?: number;
  version?: number;
}

export function ipv4(o: Ipv4Opts): Bytes {
  const options = o.options ?? [];
  const payload = o.payload ?? [];
  const hl = 20 + options.length;
  const total = o.totalLen ?? hl + payload.length;
  return cat(
    [((o.version ?? 4) << 4) | (o.ihl ?? hl / 4), o.tos ?? 0],
    be16(total),
    be16(0x1234),
    be16(o.frag ?? 0),
    [o.ttl ?? 64, o.proto],
    be16(0), // checksum: decoders do not verify it
    o.src ?? v4('192.0.2.1'),
    o.dst ?? v4('198.51.100.2'),
    options,
    payload,
  );
}

export interface Ipv6Opts {
  src?: Bytes;
  dst?: Bytes;
  nh: number;
  payload?: Bytes;
  tc?: number;
  flow?: number;
  hlim?: number;
  payloadLen?: number;
}

export function ipv6(o: Ipv6Opts): Bytes {
  const payload = o.payload ?? [];
  const tc = o.tc ?? 0;
  const flow = o.flow ?? 0;
  return cat(
    be32(((6 << 28) | (tc << 20) | flow) >>> 0),
    be16(o.payloadLen ?? payload.length),
    [o.nh, o.hlim ?? 64],
    o.src ?? V6_A,
    o.dst ?? V6_B,
    payload,
  );
}

/** An extension header of `len` bytes (multiple of 8) in RFC 8200 §4 layout: next header, Hdr Ext Len, padding. */
export function ext(next: number, len = 8): Bytes {
  const out = [next, len / 8 - 1];
  while (out.length < len) out.push(0);
  return out;
}

/** RFC 8200 §4.5 fragment header. `offset` in 8-octet units. */
export function fragHdr(next: number, offset: number, more: boolean, id = 0xabcd): Bytes {
  return cat([next, 0], be16((offset << 3) | (more ? 1 : 0)), be32(id));
}

/** RFC 4302 §2 AH: Payload Len is the length in 4-octet units minus 2. */
export function ah(next: number, icvBytes = 12): Bytes {
  const len = 12 + icvBytes;
  const out = cat([next, len / 4 - 2], be16(0), be32(0x1000), be32(1));
  for (let i = 0; i < icvBytes; i++) out.push(0xee);
  return out;
}

export function tcp(sport: number, dport: number, flags: number, payload: Bytes = []): Bytes {
  return cat(be16(sport), be16(dport), be32(1000), be32(2000), [0x50, flags], be16(65535), be16(0), be16(0), payload);
}

export function udp(sport: number, dport: number, payload: Bytes = []): Bytes {
  return cat(be16(sport), be16(dport), be16(8 + payload.length), be16(0), payload);
}

export function icmp(type: number, code: number, rest: Bytes = [0, 0, 0, 1, 0, 1]): Bytes {
  return cat([type, code], be16(0), rest);
}

export const view = new PacketView();

/** Decodes `frame` into a fresh view (or `into`), with caplen/wirelen defaulting to the frame's length. */
export function decode(
  frame: Bytes | Uint8Array,
  linkType: number,
  opts: { caplen?: number; wirelen?: number; off?: number; into?: PacketView } = {},
): PacketView {
  const off = opts.off ?? 0;
  const buf = new Uint8Array(off + frame.length);
  buf.set(frame, off);
  const v = opts.into ?? new PacketView();
  const caplen = opts.caplen ?? frame.length;
  decodePacket(buf, off, caplen, opts.wirelen ?? frame.length, linkType, v);
  return v;
}

export function words(a: Uint32Array): number[] {
  return Array.from(a);
}
