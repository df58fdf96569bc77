import { describe, expect, it } from 'vitest';
import { ExpiryWheel } from '../../src/flow/wheel.js';
import { rng } from './helpers.js';

const CAP = 3000;
const BASE = 1_700_000_000;

describe('expiry wheel', () => {
  it('matches a sorted-list model under random filing, moves, removals, scans, clock jumps and evictions', () => {
    const rand = rng(42);
    const wheel = new ExpiryWheel(CAP);
    const seq = new Uint32Array(CAP);
    const out = new Int32Array(CAP);
    const model = new Map<number, number>(); // flow -> expiresAt
    let now = BASE;
    let nextSeq = 1;
    wheel.rebase(now);
    const byExpiry = (a: number, b: number) => model.get(a)! - model.get(b)! || seq[a] - seq[b];

    for (let step = 0; step < 40_000; step++) {
      const op = rand();
      const f = Math.floor(rand() * CAP);
      if (op < 0.55) {
        // File or move: mostly soon, sometimes far beyond the wheel, sometimes "now" (0) or in the past.
        const r = rand();
        const at =
          r < 0.05
            ? 0
            : r < 0.1
              ? now - Math.floor(rand() * 50)
              : r < 0.2
                ? now + 4000 + Math.floor(rand() * 20000)
                : r < 0.4
                  ? now + Math.floor(rand() * 4200) // anywhere across the wheel and just past it
                  : now + Math.floor(rand() * 400);
        if (!model.has(f)) seq[f] = nextSeq++;
        wheel.file(f, at);
        model.set(f, at);
      } else if (op < 0.65) {
        wheel.remove(f);
        model.delete(f);
      } else if (op < 0.9) {
        // Time passes: usually a little, sometimes a lot (longer than the wheel), sometimes backwards.
        const r = rand();
        const t = r < 0.03 ? now + 4000 + Math.floor(rand() * 30000) : r < 0.06 ? now - 30 : now + Math.floor(rand() * 4);
        const n = wheel.collectExpired(t, out, 0);
        const got = Array.from(out.subarray(0, n)).sort((a, b) => a - b);
        const want = [...model.keys()].filter((g) => model.get(g)! < t).sort((a, b) => a - b);
        expect(got).toEqual(want);
        for (const g of want) model.delete(g);
        now = Math.max(now, t);
      } else if (op < 0.97) {
        const k = Math.floor(rand() * 20);
        const n = wheel.collectSoonest(k, seq, out, 0);
        const want = [...model.keys()].sort(byExpiry).slice(0, k);
        expect(Array.from(out.subarray(0, n)).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
        for (const g of want) model.delete(g);
      } else {
        const n = wheel.ordered(seq, out);
        expect(Array.from(out.subarray(0, n))).toEqual([...model.keys()].sort(byExpiry));
      }
      expect(wheel.size).toBe(model.size);
    }
  });

  it('evicts far flows crowded into a few seconds in (second, creation) order, as a sorted list does', () => {
    // Long timeouts put every flow beyond the wheel within a capture's span of seconds: the eviction counts them
    // by second instead of selecting (wheel.ts, countUpTo), with many flows tied on each second.
    const rand = rng(7);
    const wheel = new ExpiryWheel(CAP);
    const seq = new Uint32Array(CAP);
    const out = new Int32Array(CAP);
    const model = new Map<number, number>();
    let nextSeq = 1;
    wheel.rebase(BASE);
    const byExpiry = (a: number, b: number) => model.get(a)! - model.get(b)! || seq[a] - seq[b];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 60; i++) {
        const f = Math.floor(rand() * CAP);
        const at = BASE + 5000 + round + Math.floor(rand() * 40);
        if (!model.has(f)) seq[f] = nextSeq++;
        wheel.file(f, at);
        model.set(f, at);
      }
      const k = Math.floor(rand() * 80);
      const n = wheel.collectSoonest(k, seq, out, 0);
      const want = [...model.keys()].sort(byExpiry).slice(0, k);
      expect(Array.from(out.subarray(0, n)).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
      for (const g of want) model.delete(g);
      expect(wheel.size).toBe(model.size);
    }
  });

  it('drains every second it passes, also when the clock jumps further than the wheel spans', () => {
    for (const jump of [4095, 4096, 4097, 5000, 100_000]) {
      const span = 4096 + 200;
      const wheel = new ExpiryWheel(span);
      const out = new Int32Array(span);
      wheel.rebase(BASE);
      for (let f = 0; f < span; f++) wheel.file(f, BASE + f);
      const n = wheel.collectExpired(BASE + jump, out, 0);
      const want = Math.min(jump, span);
      expect(n, `jump ${jump}`).toBe(want);
      expect(Math.max(...out.subarray(0, n))).toBe(want - 1);
      expect(wheel.size).toBe(span - want);
      expect(wheel.collectExpired(BASE + span, out, 0)).toBe(span - want);
    }
  });

  it('notices a far flow moved to an earlier second that is still beyond the wheel', () => {
    const wheel = new ExpiryWheel(2);
    const out = new Int32Array(2);
    wheel.rebase(BASE);
    wheel.file(0, BASE + 50_000);
    wheel.file(1, BASE + 60_000);
    wheel.file(1, BASE + 10_000); // e.g. a long tcp timeout replaced by a shorter, still long, tcp.fin
    expect(wheel.collectExpired(BASE + 10_001, out, 0)).toBe(1);
    expect(out[0]).toBe(1);
  });

  it('keeps (second, creation) order for flows spread beyond the wheel over more seconds than its far part spans', () => {
    // Long timeouts file flows far beyond the wheel; a capture longer than the far part's 4096 seconds, or a clock
    // that catches up with it, moves flows between the far part, the lists on either side of it and the wheel.
    const rand = rng(11);
    const wheel = new ExpiryWheel(CAP);
    const seq = new Uint32Array(CAP);
    const out = new Int32Array(CAP);
    const model = new Map<number, number>();
    let now = BASE;
    let nextSeq = 1;
    wheel.rebase(now);
    const byExpiry = (a: number, b: number) => model.get(a)! - model.get(b)! || seq[a] - seq[b];
    for (let step = 0; step < 20_000; step++) {
      const op = rand();
      const f = Math.floor(rand() * CAP);
      if (op < 0.6) {
        const r = rand();
        // Beyond the wheel, over three far spans, sometimes just before where the far part started.
        const at = r < 0.8 ? now + 4096 + Math.floor(step / 2) + Math.floor(rand() * 40) : now + 4096 + Math.floor(rand() * 13_000);
        if (!model.has(f)) seq[f] = nextSeq++;
        wheel.file(f, at);
        model.set(f, at);
      } else if (op < 0.9) {
        const k = Math.floor(rand() * 200);
        const n = wheel.collectSoonest(k, seq, out, 0);
        const want = [...model.keys()].sort(byExpiry).slice(0, k);
        expect(Array.from(out.subarray(0, n)).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
        for (const g of want) model.delete(g);
      } else {
        const t = now + (rand() < 0.1 ? Math.floor(rand() * 9000) : Math.floor(rand() * 3));
        const n = wheel.collectExpired(t, out, 0);
        const got = Array.from(out.subarray(0, n)).sort((a, b) => a - b);
        const want = [...model.keys()].filter((g) => model.get(g)! < t).sort((a, b) => a - b);
        expect(got).toEqual(want);
        for (const g of want) model.delete(g);
        now = t;
      }
      expect(wheel.size).toBe(model.size);
    }
    const n = wheel.ordered(seq, out);
    expect(Array.from(out.subarray(0, n))).toEqual([...model.keys()].sort(byExpiry));
  });

  it('leaves a flow filed for second S until a scan at S + 1', () => {
    const wheel = new ExpiryWheel(4);
    const out = new Int32Array(4);
    wheel.rebase(BASE);
    wheel.file(0, BASE + 10);
    expect(wheel.collectExpired(BASE + 10, out, 0)).toBe(0);
    expect(wheel.collectExpired(BASE + 11, out, 0)).toBe(1);
    expect(wheel.size).toBe(0);
  });

  it('refuses to move its start while it holds flows', () => {
    const wheel = new ExpiryWheel(2);
    wheel.file(1, 5);
    expect(() => wheel.rebase(100)).toThrow(/non-empty/);
  });
});
