/**
 * @internal Thrift compact protocol, generically: a struct decodes into a tree of fields
 * (id, wire type, value) that encodes back to the same bytes, so Parquet footers can be read,
 * edited (offsets shifted, row groups spliced, a key dropped) and written without a schema of
 * every field: fields this code does not know survive unchanged.
 */
import { FileFormatError } from '../util/errors.js';

/** Compact-protocol wire types. */
export const enum TType {
  Stop = 0, True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12,
}

export type TValue = boolean | number | bigint | Uint8Array | TList | TStruct | TMap;
export interface TList { et: TType; items: TValue[] }
export interface TMap { kt: TType; vt: TType; entries: [TValue, TValue][] }
export interface TField { id: number; t: TType; v: TValue }
/** A struct: its fields in wire order. */
export interface TStruct { fields: TField[] }

/** Decodes one struct from `bytes` at `pos`; `what` names the bytes for errors. */
export function decodeStruct(bytes: Uint8Array, what: string, pos = 0): { value: TStruct; end: number } {
  const r = new Reader(bytes, what, pos);
  const value = r.struct(0);
  return { value, end: r.pos };
}

/** Encodes a struct. */
export function encodeStruct(s: TStruct): Uint8Array {
  const w = new Writer();
  w.struct(s);
  return w.bytes();
}

/** The value of field `id`, or undefined. */
export function field(s: TStruct, id: number): TValue | undefined {
  return s.fields.find((f) => f.id === id)?.v;
}

/** Sets (or adds, keeping ids ascending) field `id`. */
export function setField(s: TStruct, id: number, t: TType, v: TValue): void {
  const f = s.fields.find((x) => x.id === id);
  if (f) {
    f.t = t;
    f.v = v;
    return;
  }
  s.fields.push({ id, t, v });
  s.fields.sort((a, b) => a.id - b.id);
}

export function removeField(s: TStruct, id: number): void {
  s.fields = s.fields.filter((f) => f.id !== id);
}

class Reader {
  constructor(readonly b: Uint8Array, readonly what: string, public pos: number) {}

  private fail(msg: string): never {
    throw new FileFormatError(this.what, `corrupt Thrift metadata at byte ${this.pos} of the footer: ${msg}`);
  }

  private byte(): number {
    if (this.pos >= this.b.length) this.fail('it ends in the middle of a value');
    return this.b[this.pos++]!;
  }

  private varint(): bigint {
    let shift = 0n;
    let out = 0n;
    for (let k = 0; k < 10; k++) {
      const x = this.byte();
      out |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return out;
      shift += 7n;
    }
    return this.fail('a varint longer than 10 bytes');
  }

  private zigzag(): bigint {
    const n = this.varint();
    return (n & 1n) === 0n ? n >> 1n : -((n + 1n) >> 1n);
  }

  value(t: TType, depth: number): TValue {
    if (depth > 64) this.fail('nesting deeper than 64');
    switch (t) {
      case TType.True: return true;
      case TType.False: return false;
      case TType.Byte: {
        const x = this.byte();
        return x > 127 ? x - 256 : x;
      }
      case TType.I16:
      case TType.I32: return Number(this.zigzag());
      case TType.I64: return this.zigzag();
      case TType.Double: {
        if (this.pos + 8 > this.b.length) this.fail('a double runs past the end');
        const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case TType.Binary: {
        const n = Number(this.varint());
        if (n < 0 || this.pos + n > this.b.length) this.fail(`a string of ${n} bytes runs past the end`);
        const v = this.b.slice(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case TType.List:
      case TType.Set: {
        const h = this.byte();
        let n = h >> 4;
        const et = (h & 0x0f) as TType;
        if (n === 15) n = Number(this.varint());
        if (n > this.b.length) this.fail(`a list of ${n} elements in ${this.b.length} bytes`);
        const items: TValue[] = [];
        for (let i = 0; i < n; i++) items.push(et === TType.True || et === TType.False ? this.byte() === 1 : this.value(et, depth + 1));
        return { et, items };
      }
      case TType.Map: {
        const n = Number(this.varint());
        if (n === 0) return { kt: TType.Binary, vt: TType.Binary, entries: [] };
        const h = this.byte();
        const kt = (h >> 4) as TType;
        const vt = (h & 0x0f) as TType;
        const entries: [TValue, TValue][] = [];
        for (let i = 0; i < n; i++) entries.push([this.value(kt, depth + 1), this.value(vt, depth + 1)]);
        return { kt, vt, entries };
      }
      case TType.Struct: return this.struct(depth + 1);
      default: return this.fail(`unknown wire type ${t}`);
    }
  }

  struct(depth: number): TStruct {
    const fields: TField[] = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return { fields };
      const t = (h & 0x0f) as TType;
      const delta = h >> 4;
      const id = delta === 0 ? Number(this.zigzag()) : last + delta;
      last = id;
      fields.push({ id, t: t === TType.False ? TType.True : t, v: this.value(t, depth) });
    }
  }
}

class Writer {
  private buf = new Uint8Array(1024);
  private n = 0;

  bytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  private byte(x: number): void {
    this.room(1);
    this.buf[this.n++] = x & 0xff;
  }

  private varint(x: bigint): void {
    let v = x;
    do {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      this.byte(v > 0n ? b | 0x80 : b);
    } while (v > 0n);
  }

  private zigzag(x: number | bigint): void {
    const v = BigInt(x);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }

  value(t: TType, v: TValue): void {
    switch (t) {
      case TType.True:
      case TType.False: return; // carried by the field header
      case TType.Byte: return this.byte(Number(v));
      case TType.I16:
      case TType.I32:
      case TType.I64: return this.zigzag(v as number | bigint);
      case TType.Double: {
        this.room(8);
        new DataView(this.buf.buffer, this.n, 8).setFloat64(0, v as number, true);
        this.n += 8;
        return;
      }
      case TType.Binary: {
        const b = v as Uint8Array;
        this.varint(BigInt(b.length));
        this.room(b.length);
        this.buf.set(b, this.n);
        this.n += b.length;
        return;
      }
      case TType.List:
      case TType.Set: {
        const l = v as TList;
        const n = l.items.length;
        this.byte(n < 15 ? (n << 4) | l.et : 0xf0 | l.et);
        if (n >= 15) this.varint(BigInt(n));
        for (const it of l.items) {
          if (l.et === TType.True || l.et === TType.False) this.byte(it ? 1 : 2);
          else this.value(l.et, it);
        }
        return;
      }
      case TType.Map: {
        const m = v as TMap;
        this.varint(BigInt(m.entries.length));
        if (m.entries.length === 0) return;
        this.byte((m.kt << 4) | m.vt);
        for (const [k, x] of m.entries) {
          this.value(m.kt, k);
          this.value(m.vt, x);
        }
        return;
      }
      case TType.Struct: return this.struct(v as TStruct);
    }
  }

  struct(s: TStruct): void {
    let last = 0;
    for (const f of s.fields) {
      const t = f.t === TType.True || f.t === TType.False ? (f.v ? TType.True : TType.False) : f.t;
      const delta = f.id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | t);
      else {
        this.byte(t);
        this.zigzag(f.id);
      }
      last = f.id;
      this.value(t, f.v);
    }
    this.byte(0);
  }
}
