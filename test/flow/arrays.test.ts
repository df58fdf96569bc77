/** The flow table's row storage starts on a cache line whatever the allocator hands out (src/flow/arrays.ts). */
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/capture/native.js';
import { lineAlignedUint32 } from '../../src/flow/arrays.js';

describe('lineAlignedUint32', () => {
  it.each([1, 16, 1000, 16 * 16384, 1 << 22])('gives %i zeroed words starting on a 64-byte line', (words) => {
    const a = lineAlignedUint32(words);
    expect(a.length).toBe(words);
    expect(addon.lineOffset(a)).toBe(0);
    expect(a.every((w) => w === 0)).toBe(true);
    // Large buffers are the ones malloc starts 16 bytes into a line: the alignment must come from us.
    a[words - 1] = 0xffffffff;
    expect(a[words - 1]).toBe(0xffffffff);
  });
});
