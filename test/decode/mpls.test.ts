import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus, MAX_MPLS_LABELS } from '../../src/decode/packet.js';
import { cat, decode, eth, icmp, ipv4, ipv6, mpls, tag, tcp, udp, view } from './frames.js';

const ETHERNET = 1;

describe('MPLS label stacks (ethertype 0x8847/0x8848)', () => {
  it('keeps one label and decodes IPv4 after it; the shim counts as payload in linkOctets', () => {
    const frame = cat(eth(0x8847), mpls(16000, true, 63, 5), ipv4({ proto: 17, payload: udp(1000, 2000) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(v.mplsDepth).toBe(1);
    expect(v.mpls[0]).toBe(((16000 << 12) | (5 << 9) | 0x100 | 63) >>> 0);
    expect(v.l3Offset).toBe(18);
    // softflowd: wire length minus the Ethernet header only, so the 4-byte shim is counted.
    expect(v.linkOctets).toBe(frame.length - 14);
    expect([v.srcPort, v.dstPort]).toEqual([1000, 2000]);
  });

  it('walks a 12-label stack to the S bit, keeps the first 10, and decodes IPv6 behind it', () => {
    let stack: number[] = [];
    for (let i = 0; i < 12; i++) stack = cat(stack, mpls(100 + i, i === 11));
    const frame = cat(eth(0x8847), stack, ipv6({ nh: 6, payload: tcp(5, 6, 0x02) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(v.ipVersion).toBe(6);
    expect(v.mplsDepth).toBe(MAX_MPLS_LABELS);
    for (let i = 0; i < MAX_MPLS_LABELS; i++) expect(v.mpls[i] >>> 12).toBe(100 + i);
    expect(v.l3Offset).toBe(14 + 48);
    expect([v.srcPort, v.dstPort, v.tcpFlags]).toEqual([5, 6, 0x02]);
  });

  it('accepts multicast MPLS (0x8848) and MPLS after a VLAN tag', () => {
    const frame = cat(eth(0x8100), tag(12, 0x8848), mpls(20, false), mpls(21, true), ipv4({ proto: 1, payload: icmp(0, 0) }));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(v.vlan).toBe(12);
    expect(v.mplsDepth).toBe(2);
    expect(v.linkOctets).toBe(frame.length - 18);
  });

  it('reports a stack cut before its S bit as TOO_SHORT, and a bottomless 64-entry stack as non-IP', () => {
    const frame = cat(eth(0x8847), mpls(1, false), mpls(2, false), mpls(3, true), ipv4({ proto: 17 }));
    const cut = decode(frame, ETHERNET, { caplen: 14 + 10 });
    expect(cut.status).toBe(DecodeStatus.TOO_SHORT);
    expect(cut.reason).toBe(DecodeReason.LINK_TRUNCATED);

    let bottomless = eth(0x8847);
    for (let i = 0; i < 70; i++) bottomless = cat(bottomless, mpls(i, false));
    const deep = decode(bottomless, ETHERNET);
    expect(deep.status).toBe(DecodeStatus.NON_IP);
    expect(deep.reason).toBe(DecodeReason.TOO_MANY_HEADERS);
  });

  it('decodes an Ethernet pseudowire behind a control word, keeping the outer link fields only', () => {
    const inner = cat(eth(0x8100), tag(1, 0x0800), ipv4({ proto: 1, payload: icmp(8, 0) }));
    const frame = cat(eth(0x8847), mpls(18, false), mpls(16, true), [0, 0, 0, 0], inner);
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.protocol, v.icmpType]).toEqual([1, 8]);
    expect(v.mplsDepth).toBe(2);
    // The inner frame's tag is the customer's, not the captured link's.
    expect(v.vlan).toBe(0);
    expect(v.srcMacLo).toBe(0x5e102030);
    expect(v.l3Offset).toBe(14 + 8 + 4 + 18);
    expect(v.linkOctets).toBe(frame.length - 14);
  });

  it('calls a non-IP payload after the stack (first nibble 1: PW associated channel) non-IP', () => {
    const frame = cat(eth(0x8847), mpls(5, true), [0x10, 0, 0, 0x21], new Array(30).fill(0));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.NON_IP);
    expect(v.reason).toBe(DecodeReason.MPLS_PAYLOAD);
    expect(v.linkProto).toBe(1);
  });

  it('clears the labels of the previous packet when the reused view decodes the next one', () => {
    const labelled = cat(eth(0x8847), mpls(7, false), mpls(8, false), mpls(9, true), ipv4({ proto: 17, payload: udp(1, 2) }));
    decode(labelled, ETHERNET, { into: view });
    expect(view.mplsDepth).toBe(3);
    decode(cat(eth(0x0800), ipv4({ proto: 17, payload: udp(1, 2) })), ETHERNET, { into: view });
    expect(view.mplsDepth).toBe(0);
    expect(Array.from(view.mpls)).toEqual(new Array(MAX_MPLS_LABELS).fill(0));
  });
});
