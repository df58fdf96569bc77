/** A big-endian byte builder for hand-made NetFlow v9 / IPFIX messages (RFC 3954 §5, RFC 7011 §3). */
export class B {
  readonly bytes: number[] = [];
  u8(...v: number[]): this {
    for (const x of v) this.bytes.push(x & 255);
    return this;
  }
  u16(...v: number[]): this {
    for (const x of v) this.u8(x >>> 8, x);
    return this;
  }
  u32(...v: number[]): this {
    for (const x of v) this.u16(x >>> 16, x & 0xffff);
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]! & 255);
    return this;
  }
  get length(): number {
    return this.bytes.length;
  }
  out(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A set: ID, length (4 + body unless `len` says otherwise), body. */
export function set(id: number, body: B, len = 4 + body.length): B {
  return new B().u16(id, len).raw(body.bytes);
}

/** An IPFIX message around the sets; `len` overrides the header's length field. */
export function ipfixMessage(sets: B[], opts: { seq?: number; domain?: number; exportTime?: number; len?: number } = {}): Uint8Array {
  const body = sets.flatMap((s) => s.bytes);
  return new B()
    .u16(10, opts.len ?? 16 + body.length)
    .u32(opts.exportTime ?? 1_795_549_367, opts.seq ?? 0, opts.domain ?? 0)
    .raw(body)
    .out();
}

/** A NetFlow v9 packet around the sets (count = number of sets, which nothing checks). */
export function v9Message(sets: B[], opts: { seq?: number; sourceId?: number; count?: number } = {}): Uint8Array {
  const body = sets.flatMap((s) => s.bytes);
  return new B()
    .u16(9, opts.count ?? sets.length)
    .u32(1000, 1_795_549_367, opts.seq ?? 0, opts.sourceId ?? 0)
    .raw(body)
    .out();
}

/** A template record: ID, then [IE, length] pairs (a PEN after an IE with the enterprise bit). */
export function template(id: number, fields: [number, number, number?][]): B {
  const b = new B().u16(id, fields.length);
  for (const [ie, len, pen] of fields) {
    b.u16(ie, len);
    if (pen !== undefined) b.u32(pen);
  }
  return b;
}
