import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FILE_TEMPLATES } from '../../src/store/format.js';
import { MAX_COMPILED_FIELDS, compilable, compileFlowDecoder, compileFlowWriter, decodeCompiledSet } from '../../src/wire/compiled.js';
import { WireError } from '../../src/wire/errors.js';
import { FLOW_CODECS, VARLEN } from '../../src/wire/ie.js';
import { FlowRecord } from '../../src/wire/record.js';
import { SetResult, Template, decodeFlowSet, type TemplateField } from '../../src/wire/template.js';
import { TimeBase } from '../../src/wire/time.js';
import { suiteParams } from '../fuzz/lib/budget.js';

/** Every field of every known IE at every length its codec takes, plus fields no codec reads. */
const FIELDS: TemplateField[] = [];
for (const [key, c] of FLOW_CODECS) {
  for (let len = c.minLen; len <= Math.min(c.maxLen, 16); len++) FIELDS.push({ pen: Math.floor(key / 65536), id: key % 65536, length: len });
  // A length the codec cannot take: skipped by length, as decodeFlowSet skips it.
  FIELDS.push({ pen: Math.floor(key / 65536), id: key % 65536, length: c.maxLen + 1 });
}
FIELDS.push({ pen: 0, id: 3, length: 5 }, { pen: 9, id: 1, length: 2 });

/** Everything a FlowRecord holds, as plain data. */
function snapshot(r: FlowRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) o[k] = v instanceof Uint32Array ? [...v] : v;
  return o;
}

/** Decodes `body` with both decoders; each record as delivered, the result and the time base's count. */
function both(t: Template, body: Uint8Array, tbSetup: (tb: TimeBase) => void) {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const run = (decode: (tb: TimeBase, rec: FlowRecord, sink: { onFlow(r: FlowRecord): void }, res: SetResult) => number) => {
    const tb = new TimeBase();
    tbSetup(tb);
    const rec = new FlowRecord();
    // A record left dirty by the consumer (as the session scales and stamps it) must not leak into the next one.
    rec.exporter.fill(7);
    rec.packets = 99;
    const out: Record<string, unknown>[] = [];
    const res = new SetResult();
    const e = decode(tb, rec, {
      onFlow: (r) => {
        out.push(snapshot(r));
        r.mpls.fill(3);
        r.octets = -1;
      },
    }, res);
    return { e, records: res.records, error: res.error, out, unresolved: tb.unresolved };
  };
  const generic = run((tb, rec, sink, res) => decodeFlowSet(dv, 0, body.length, t, tb, rec, sink, res));
  const compiled = run((tb, rec, sink, res) => decodeCompiledSet(compileFlowDecoder(t), dv, 0, body.length, tb, rec, sink, res));
  return { generic, compiled };
}

const arbTemplate = fc
  .array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 40 })
  .map((fields) => new Template(10, 300, fields));

describe('compiled templates', () => {
  it('decode every known field at every length exactly as the codecs do, records and padding alike', () => {
    fc.assert(
      fc.property(
        arbTemplate,
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (t, records, extra, seed, uptimeKnown, uptime) => {
          const body = new Uint8Array(records * t.fixedLength + Math.min(extra, t.fixedLength - 1));
          let x = seed;
          for (let i = 0; i < body.length; i++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            // Mostly random bytes, some all-ones and zeros (saturated and empty fields).
            body[i] = x % 7 === 0 ? 0xff : x % 11 === 0 ? 0 : x >>> 24;
          }
          const { generic, compiled } = both(t, body, (tb) => {
            if (uptimeKnown) tb.setFromHeader(1_795_556_263_000, uptime);
            else tb.setForIpfix(1_795_556_263, NaN);
          });
          expect(compiled).toEqual(generic);
          expect(compiled.records).toBe(records);
        },
      ),
      suiteParams(400),
    );
  });

  it('decode fields that depend on the ones before them as the codecs do (ICMP type 0 keeps the port)', () => {
    const t = new Template(9, 256, [
      { pen: 0, id: 11, length: 2 },
      { pen: 0, id: 32, length: 2 },
      { pen: 0, id: 8, length: 4 },
      { pen: 0, id: 27, length: 16 },
      { pen: 0, id: 70, length: 3 },
      { pen: 0, id: 71, length: 3 },
    ]);
    const body = new Uint8Array(2 * t.fixedLength);
    body.set([0x01, 0xbb, 0, 0, 10, 0, 0, 1, 0x20, 1, 0x0d, 0xb8], 0);
    body.set([0x12, 0x34, 0x51, 0, 0, 0], 24);
    body.set([0, 53, 3, 0], t.fixedLength);
    const { generic, compiled } = both(t, body, () => undefined);
    expect(compiled).toEqual(generic);
    expect(compiled.out[0].dstPort).toBe(443);
    expect(compiled.out[1].dstPort).toBe(768);
  });

  it('write every field of the file templates exactly as the codecs do, whatever the record holds', () => {
    const values = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.constantFrom(0, 1, 255, 256, 65535, 65536, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1, -1, -0.5, 1.5, NaN, Infinity),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: FILE_TEMPLATES.length - 1 }), fc.array(values, { minLength: 80, maxLength: 80 }), (k, vs) => {
        const t = FILE_TEMPLATES[k];
        const r = new FlowRecord();
        let i = 0;
        for (const key of Object.keys(r) as (keyof FlowRecord)[]) {
          const v = r[key];
          if (v instanceof Uint32Array) for (let j = 0; j < v.length; j++) v[j] = vs[i++ % vs.length];
          else if (typeof v === 'number') (r as unknown as Record<string, number>)[key] = vs[i++ % vs.length];
        }
        r.mplsDepth = Math.abs(vs[3]) % 11;
        const tb = new TimeBase();
        const a = new Uint8Array(t.fixedLength + 8);
        const b = new Uint8Array(t.fixedLength + 8);
        const plan = t.flowPlan();
        let off = 4;
        plan.codecs.forEach((c, j) => {
          c!.enc(new DataView(a.buffer), off, plan.lens[j], r, tb);
          off += plan.lens[j];
        });
        compileFlowWriter(t)(new DataView(b.buffer), b, 4, r, tb);
        expect(b).toEqual(a);
      }),
      suiteParams(400),
    );
  });

  it('leave variable-length, options, empty and oversized templates to the generic loop', () => {
    expect(compilable(new Template(10, 256, [{ pen: 0, id: 8, length: 4 }]))).toBe(true);
    expect(compilable(new Template(10, 256, [{ pen: 0, id: 82, length: VARLEN }]))).toBe(false);
    expect(compilable(new Template(10, 256, [{ pen: 0, id: 34, length: 4 }], true, 1))).toBe(false);
    const many = Array.from({ length: MAX_COMPILED_FIELDS + 1 }, () => ({ pen: 0, id: 1, length: 4 }));
    expect(compilable(new Template(10, 256, many))).toBe(false);
    expect(() => compileFlowDecoder(new Template(10, 256, many))).toThrow(RangeError);
    const res = new SetResult();
    const d = compileFlowDecoder(new Template(9, 256, [{ pen: 0, id: 2, length: 4 }]));
    expect(decodeCompiledSet(d, new DataView(new ArrayBuffer(3)), 0, 3, new TimeBase(), new FlowRecord(), { onFlow: () => undefined }, res)).toBe(
      WireError.OK,
    );
    expect(res.records).toBe(0);
  });
});
