import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus } from '../../src/decode/packet.js';
import { cat, decode, eth, icmp, ipv4, ipv6, MAC_A, MAC_B, tag, tcp, udp, V6_A_WORDS, v4, words } from './frames.js';

const ETHERNET = 1;
const TCP = 6;
const UDP = 17;

describe('Ethernet (LINKTYPE 1)', () => {
  it('decodes an untagged IPv4 TCP frame: MACs, addresses, ports, flags, lengths', () => {
    const frame = cat(eth(0x0800), ipv4({ proto: TCP, tos: 0x10, ttl: 57, payload: tcp(40000, 443, 0x12) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(v.reason).toBe(DecodeReason.NONE);
    expect(v.ipVersion).toBe(4);
    expect(words(v.src)).toEqual([0xc0000201, 0, 0, 0]);
    expect(words(v.dst)).toEqual([0xc6336402, 0, 0, 0]);
    expect([v.protocol, v.srcPort, v.dstPort, v.tcpFlags]).toEqual([TCP, 40000, 443, 0x12]);
    expect([v.tos, v.ttl, v.ipLen]).toEqual([0x10, 57, 40]);
    expect(v.l3Offset).toBe(14);
    expect(v.linkOctets).toBe(40);
    expect([v.dstMacHi, v.dstMacLo]).toEqual([0x0200, 0x5ea0b0c0]);
    expect([v.srcMacHi, v.srcMacLo]).toEqual([0x0200, 0x5e102030]);
    expect([v.vlan, v.vlanInner, v.mplsDepth]).toEqual([0, 0, 0]);
    expect(v.truncated).toBe(false);
  });

  it("counts a padded 40-byte ACK as 46 link octets (softflowd's count) but ipLen 40, and reads no port from padding", () => {
    const ip = ipv4({ proto: TCP, payload: tcp(1, 2, 0x10) });
    const frame = cat(eth(0x0800), ip, new Array(6).fill(0));
    expect(frame.length).toBe(60);
    const v = decode(frame, ETHERNET);
    expect(v.linkOctets).toBe(46);
    expect(v.ipLen).toBe(40);

    // An IPv4 header with no payload, padded: the padding must not be read as a UDP header.
    const bare = cat(eth(0x0800), ipv4({ proto: UDP }), [0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0]);
    const w = decode(bare, ETHERNET);
    expect(w.status).toBe(DecodeStatus.OK);
    expect([w.srcPort, w.dstPort, w.truncated]).toEqual([0, 0, true]);
  });

  it('reads one 802.1Q tag: VLAN id without the PCP bits, link header includes the tag', () => {
    const frame = cat(eth(0x8100), tag(100, 0x0800, 5), ipv4({ proto: UDP, payload: udp(53, 5353) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.vlan, v.vlanInner]).toEqual([100, 0]);
    expect(v.l3Offset).toBe(18);
    expect(v.linkOctets).toBe(frame.length - 18);
    expect([v.srcPort, v.dstPort]).toEqual([53, 5353]);
  });

  it('reads QinQ (802.1ad S-tag then C-tag): outer and inner VLAN', () => {
    const frame = cat(eth(0x88a8), tag(300, 0x8100), tag(42, 0x86dd), ipv6({ nh: UDP, payload: udp(1, 2) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.vlan, v.vlanInner]).toEqual([300, 42]);
    expect(v.ipVersion).toBe(6);
    expect(words(v.src)).toEqual(V6_A_WORDS);
    expect(v.l3Offset).toBe(22);
  });

  it('walks a triple tag with the old 0x9100 S-tag, keeping the outer two ids', () => {
    const frame = cat(eth(0x9100), tag(7, 0x8100), tag(8, 0x8100), tag(9, 0x0800), ipv4({ proto: 1, payload: icmp(8, 0) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.vlan, v.vlanInner]).toEqual([7, 8]);
    expect(v.l3Offset).toBe(26);
    expect(v.linkOctets).toBe(frame.length - 26);
    expect([v.protocol, v.icmpType, v.icmpCode, v.dstPort]).toEqual([1, 8, 0, 0x0800]);
  });

  it('gives up as non-IP after 8 stacked tags instead of walking for ever', () => {
    let frame = eth(0x8100);
    for (let i = 1; i <= 9; i++) frame = cat(frame, tag(i, 0x8100));
    frame = cat(frame, ipv4({ proto: UDP, payload: udp(1, 2) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.NON_IP);
    expect(v.reason).toBe(DecodeReason.TOO_MANY_HEADERS);

    let eight = eth(0x8100);
    for (let i = 1; i <= 7; i++) eight = cat(eight, tag(i, 0x8100));
    eight = cat(eight, tag(8, 0x0800), ipv4({ proto: UDP, payload: udp(1, 2) }));
    expect(decode(eight, ETHERNET).status).toBe(DecodeStatus.OK);
  });

  it('reports ARP as non-IP with its ethertype', () => {
    const frame = cat(eth(0x0806), new Array(28).fill(0), new Array(18).fill(0));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.NON_IP);
    expect(v.reason).toBe(DecodeReason.ETHERTYPE);
    expect(v.linkProto).toBe(0x0806);
    expect(v.linkOctets).toBe(frame.length - 14);
    expect(v.ipVersion).toBe(0);
  });

  it('decodes RFC 1042 LLC/SNAP-encapsulated IPv4 and calls other 802.3 frames (STP) non-IP', () => {
    const snapIp = ipv4({ proto: UDP, payload: udp(67, 68) });
    const snap = cat(MAC_B, MAC_A, [0, 8 + snapIp.length], [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], snapIp);
    const v = decode(snap, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.srcPort, v.dstPort]).toEqual([67, 68]);
    expect(v.l3Offset).toBe(22);

    const stp = cat([0x01, 0x80, 0xc2, 0, 0, 0], MAC_A, [0, 38], [0x42, 0x42, 0x03], new Array(35).fill(0));
    const s = decode(stp, ETHERNET);
    expect(s.status).toBe(DecodeStatus.NON_IP);
    expect(s.reason).toBe(DecodeReason.LLC);
    expect(s.linkProto).toBe(0x42);
  });

  it('reports a frame shorter than the Ethernet header or a cut VLAN tag as TOO_SHORT', () => {
    const frame = cat(eth(0x8100), tag(5, 0x0800), ipv4({ proto: UDP, payload: udp(1, 2) }));
    expect(decode(frame, ETHERNET, { caplen: 13 }).status).toBe(DecodeStatus.TOO_SHORT);
    const cut = decode(frame, ETHERNET, { caplen: 16 });
    expect(cut.status).toBe(DecodeStatus.TOO_SHORT);
    expect(cut.reason).toBe(DecodeReason.LINK_TRUNCATED);
    const noIp = decode(frame, ETHERNET, { caplen: 30 });
    expect(noIp.status).toBe(DecodeStatus.TOO_SHORT);
    expect(noIp.reason).toBe(DecodeReason.IPV4_TRUNCATED);
    expect(noIp.vlan).toBe(5);
  });

  it('reads addresses at any offset in a shared buffer', () => {
    const frame = cat(eth(0x0800), ipv4({ proto: UDP, src: v4('10.1.2.3'), dst: v4('10.255.0.9'), payload: udp(9, 10) }));
    const v = decode(frame, ETHERNET, { off: 37 });
    expect(words(v.src)[0]).toBe(0x0a010203);
    expect(words(v.dst)[0]).toBe(0x0aff0009);
    expect(v.l3Offset).toBe(14);
  });

  it('walks an 802.1ah provider backbone frame to the customer IP packet, keeping the backbone link fields', () => {
    const customer = cat(eth(0x8100, [0x0a, 0, 0, 0, 0, 1], [0x0a, 0, 0, 0, 0, 2]), tag(77, 0x0800), ipv4({ proto: 17, payload: udp(500, 4500) }));
    const frame = cat(eth(0x88a8), tag(10, 0x88e7), [0, 0x01, 0x23, 0x45], customer);
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.srcPort, v.dstPort]).toEqual([500, 4500]);
    expect([v.vlan, v.vlanInner]).toEqual([10, 0]);
    expect(v.srcMacLo).toBe(0x5e102030);
    expect(v.l3Offset).toBe(14 + 4 + 4 + 14 + 4);
    expect(v.linkOctets).toBe(frame.length - v.l3Offset);
  });

  it('skips a Cisco MetaData (SGT) header to the ethertype in its last two bytes', () => {
    const frame = cat(eth(0x8909), [0x01, 0x01, 0x00, 0x01, 0x00, 0x0a], [0x86, 0xdd], ipv6({ nh: 6, payload: tcp(1, 2, 0x02) }));
    const v = decode(frame, ETHERNET);
    expect([v.status, v.ipVersion, v.tcpFlags, v.l3Offset]).toEqual([DecodeStatus.OK, 6, 0x02, 22]);
    expect(decode(frame, ETHERNET, { caplen: 20 }).status).toBe(DecodeStatus.TOO_SHORT);
  });
});
