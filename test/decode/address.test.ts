import { describe, expect, it } from 'vitest';
import { formatAddr, parseAddr } from '../../src/decode/address.js';

const w = (...x: number[]) => Uint32Array.from(x);

describe('formatAddr', () => {
  it('prints IPv4 from word 0 as a dotted quad', () => {
    expect(formatAddr(w(0xc0000201, 0, 0, 0), 4)).toBe('192.0.2.1');
    expect(formatAddr(w(0xffffffff, 0, 0, 0), 4)).toBe('255.255.255.255');
    expect(formatAddr(w(0, 0, 0, 0), 4)).toBe('0.0.0.0');
  });

  it('prints IPv6 in RFC 5952 form', () => {
    const cases: [number[], string][] = [
      [[0x20010db8, 0, 0, 1], '2001:db8::1'], // §4.2.1 longest zero run
      [[0, 0, 0, 0], '::'],
      [[0, 0, 0, 1], '::1'],
      [[0xfe800000, 0, 0x021122ff, 0xfe334455], 'fe80::211:22ff:fe33:4455'],
      [[0x20010db8, 0x00000001, 0x00010001, 0x00010001], '2001:db8:0:1:1:1:1:1'], // §4.2.2 one zero group stays
      [[0x20010db8, 0, 0x00010000, 0x00000001], '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
      [[0x20010000, 0x00000001, 0, 0], '2001:0:0:1::'], // longer run wins even later
      [[0x20010db8, 0xaaaa0000, 0x00000000, 0xbbbb0000], '2001:db8:aaaa::bbbb:0'],
      [[0x20010db8, 0x00000000, 0x00000000, 0x0000abcd], '2001:db8::abcd'],
      [[0, 0, 0xffff, 0xc0000280], '::ffff:192.0.2.128'], // §5 IPv4-mapped
      [[0xff020000, 0, 0, 0x00010002], 'ff02::1:2'],
      [[0x2001abcd, 0xef012345, 0x6789abcd, 0xef012345], '2001:abcd:ef01:2345:6789:abcd:ef01:2345'],
    ];
    for (const [words, text] of cases) expect(formatAddr(w(...words), 6), text).toBe(text);
  });
});

describe('parseAddr', () => {
  it('parses dotted quads and every IPv6 text form, to the same words formatAddr prints', () => {
    expect(parseAddr('10.0.0.255')).toEqual({ version: 4, words: w(0x0a0000ff, 0, 0, 0) });
    const forms: [string, number[]][] = [
      ['2001:db8::1', [0x20010db8, 0, 0, 1]],
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', [0x20010db8, 0, 0, 1]],
      ['::', [0, 0, 0, 0]],
      ['::1', [0, 0, 0, 1]],
      ['fe80::', [0xfe800000, 0, 0, 0]],
      ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
      ['::ffff:192.0.2.128', [0, 0, 0xffff, 0xc0000280]],
      ['64:ff9b::198.51.100.1', [0x0064ff9b, 0, 0, 0xc6336401]],
      ['1:2:3:4:5:6:1.2.3.4', [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
    ];
    for (const [text, words] of forms) {
      const p = parseAddr(text);
      expect(p, text).toEqual({ version: 6, words: w(...words) });
      expect(parseAddr(formatAddr(p!.words, 6))).toEqual(p);
    }
  });

  it('refuses malformed text', () => {
    for (const bad of [
      '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', 'a.b.c.d',
      '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::', 'fe80::1%eth0',
      '1:2:3:4:5:6:7:8::', '::1.2.3', '1.2.3.4::', ':::',
    ]) {
      expect(parseAddr(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});
