/**
 * The bounded fuzz run of the packet decoder (props/decode.ts says what is checked); `npm run fuzz` runs it longer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DecodeStatus } from '../../src/decode/packet.js';
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/packet.js';
import { builtFrames, realFrames, type Frame } from './lib/corpus.js';
import { suiteParams } from './lib/budget.js';
import { DecodeStats, decodeProperty, SUPPORTED_LINK_TYPES } from './props/decode.js';

let frames: Frame[];
beforeAll(() => {
  frames = [...realFrames(), ...builtFrames()];
});

describe('fuzz: decodePacket', () => {
  it('takes real frames of every bundled capture as seeds', () => {
    const links = new Set(frames.map((f) => f.linkType));
    // The bundled captures cover most link types; the rest are reached by random bytes on every link type.
    expect(links.size).toBeGreaterThanOrEqual(8);
    expect(frames.length).toBeGreaterThan(1000);
    const v = new PacketView();
    for (const f of builtFrames()) {
      decodePacket(f.bytes, 0, f.bytes.length, f.wirelen, f.linkType, v);
      expect(v.status, f.file).toBe(DecodeStatus.OK);
    }
  });

  it('never throws, keeps every field in range and reads nothing outside the packet (30,000 cases)', () => {
    const stats = new DecodeStats();
    fc.assert(decodeProperty(frames, stats), suiteParams(30_000));
    expect(stats.cases).toBe(30_000);
    // The runs reached every outcome, and got to the IP layer on every link type we decode.
    expect([...stats.statuses].sort()).toEqual([DecodeStatus.OK, DecodeStatus.NON_IP, DecodeStatus.TOO_SHORT, DecodeStatus.UNKNOWN_LINK]);
    expect([...stats.okLinks].sort((a, b) => a - b)).toEqual([...SUPPORTED_LINK_TYPES].sort((a, b) => a - b));
  });
});
