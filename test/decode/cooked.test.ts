import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus } from '../../src/decode/packet.js';
import { be16, be32, cat, decode, icmp, ipv4, ipv6, MAC_A, tag, tcp, udp, V6_A_WORDS, words } from './frames.js';

const LINUX_SLL = 113;
const LINUX_SLL2 = 276;

/** LINKTYPE_LINUX_SLL: packet type, ARPHRD type, address length, 8 address bytes, protocol. */
function sll(protocol: number, arphrd = 1, addr = MAC_A): number[] {
  const a = cat(addr, new Array(8 - addr.length).fill(0));
  return cat(be16(0), be16(arphrd), be16(addr.length), a, be16(protocol));
}

/** LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length, address. */
function sll2(protocol: number, arphrd = 1, addr = MAC_A): number[] {
  const a = cat(addr, new Array(8 - addr.length).fill(0));
  return cat(be16(protocol), be16(0), be32(3), be16(arphrd), [4, addr.length], a);
}

describe('Linux cooked captures (LINKTYPE 113 and 276)', () => {
  it('decodes SLL v1: protocol at byte 14, sender MAC from the address field, 16-byte link header', () => {
    const ip = ipv4({ proto: 132, payload: cat(be16(2905), be16(2906), be32(7), be32(0)) });
    const v = decode(cat(sll(0x0800), ip), LINUX_SLL);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.protocol, v.srcPort, v.dstPort]).toEqual([132, 2905, 2906]);
    expect([v.srcMacHi, v.srcMacLo, v.dstMacHi, v.dstMacLo]).toEqual([0x0200, 0x5e102030, 0, 0]);
    expect(v.l3Offset).toBe(16);
    expect(v.linkOctets).toBe(ip.length);
  });

  it('decodes SLL2: protocol at byte 0, 20-byte link header, IPv6', () => {
    const ip = ipv6({ nh: 58, payload: icmp(129, 0) });
    const v = decode(cat(sll2(0x86dd), ip), LINUX_SLL2);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(words(v.src)).toEqual(V6_A_WORDS);
    expect([v.protocol, v.icmpType, v.dstPort]).toEqual([58, 129, 129 << 8]);
    expect(v.l3Offset).toBe(20);
    expect(v.linkOctets).toBe(ip.length);
    expect(v.srcMacLo).toBe(0x5e102030);
  });

  it('follows a VLAN tag left in place by the kernel, and leaves the MAC 0 for non-Ethernet devices', () => {
    const v = decode(cat(sll2(0x8100, 65534, []), tag(10, 0x0800), ipv4({ proto: 6, payload: tcp(1, 2, 0x04) })), LINUX_SLL2);
    expect([v.status, v.vlan, v.tcpFlags, v.srcMacLo]).toEqual([DecodeStatus.OK, 10, 0x04, 0]);
  });

  it('decodes SNAP IP under SLL protocol 0x0004 (802.2) and calls other small protocol values non-IP', () => {
    const ip = ipv4({ proto: 17, payload: udp(7, 8) });
    const snap = decode(cat(sll(0x0004), [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], ip), LINUX_SLL);
    expect([snap.status, snap.dstPort, snap.l3Offset]).toEqual([DecodeStatus.OK, 8, 24]);
    const novell = decode(cat(sll(0x0001), [0xff, 0xff, 0, 30]), LINUX_SLL);
    expect([novell.status, novell.reason, novell.linkProto]).toEqual([DecodeStatus.NON_IP, DecodeReason.ETHERTYPE, 1]);
  });

  it('reports a cut cooked header as TOO_SHORT', () => {
    const frame = cat(sll2(0x0800), ipv4({ proto: 17 }));
    expect(decode(frame, LINUX_SLL2, { caplen: 19 }).status).toBe(DecodeStatus.TOO_SHORT);
    expect(decode(cat(sll(0x0800), ipv4({ proto: 17 })), LINUX_SLL, { caplen: 15 }).status).toBe(DecodeStatus.TOO_SHORT);
  });
});
