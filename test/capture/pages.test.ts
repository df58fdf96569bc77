/**
 * releasePages (native/src/pages.cc), which the flow table uses to give back the index half it grew out of: the
 * whole pages inside a view stop being resident and read as zeros; the partial pages at its edges, and the bytes
 * around the view, are left alone.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { addon } from '../../src/capture/native.js';

const PAGE = 4096;

function residentKiB(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe('releasePages', () => {
  it('makes the pages of a touched 64 MiB buffer non-resident and zero', () => {
    const buf = new Uint8Array(64 << 20);
    buf.fill(0xa5);
    const before = residentKiB();
    const released = addon.releasePages(buf);
    const after = residentKiB();
    // The buffer's start need not be page-aligned: at most one partial page at each end stays.
    expect(released).toBeGreaterThanOrEqual((64 << 20) - 2 * PAGE);
    expect(before - after).toBeGreaterThan(60 * 1024);
    let nonZero = 0;
    for (let i = PAGE; i < buf.length - PAGE; i += 997) if (buf[i] !== 0) nonZero++;
    expect(nonZero).toBe(0);
  });

  it('touches nothing outside the whole pages inside the view', () => {
    const words = new Uint32Array(16 * PAGE);
    words.fill(0xdeadbeef);
    // A view starting and ending mid-page: its first and last partial pages, and the words around it, keep their data.
    const view = new Uint32Array(words.buffer, 3 * PAGE + 12, 2 * PAGE);
    const released = addon.releasePages(view);
    expect(released % PAGE).toBe(0);
    expect(released).toBeGreaterThanOrEqual(PAGE);
    const start = (3 * PAGE + 12) / 4;
    expect(words[start - 1]).toBe(0xdeadbeef);
    expect(words[start]).toBe(0xdeadbeef);
    expect(words[start + 2 * PAGE - 1]).toBe(0xdeadbeef);
    expect(words[start + 2 * PAGE]).toBe(0xdeadbeef);
    const zeroed = [...words].filter((w) => w === 0).length;
    expect(zeroed * 4).toBe(released);
  });

  it('refuses what is not a typed array', () => {
    expect(() => addon.releasePages({} as unknown as Uint8Array)).toThrow(/releasePages\(view: TypedArray\)/);
  });
});

describe('lineOffset', () => {
  it('tells where a view starts within its 64-byte cache line, consistently across offsets into one buffer', () => {
    const buf = new ArrayBuffer(1 << 20);
    const base = addon.lineOffset(new Uint8Array(buf));
    expect(base).toBeGreaterThanOrEqual(0);
    expect(base).toBeLessThan(64);
    for (let k = 0; k < 200; k++) expect(addon.lineOffset(new Uint8Array(buf, k, 1))).toBe((base + k) % 64);
    expect(addon.lineOffset(new Uint32Array(buf, 4 * 5, 3))).toBe((base + 20) % 64);
  });

  it('refuses what is not a typed array', () => {
    expect(() => (addon.lineOffset as (v: unknown) => number)({})).toThrow(TypeError);
    expect(() => (addon.lineOffset as (v: unknown) => number)(new ArrayBuffer(8))).toThrow(/lineOffset/);
  });
});
