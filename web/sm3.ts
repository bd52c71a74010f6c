/**
 * SM3 (GB/T 32905-2016), incremental, for the browser: `node:crypto` gives the node OpenSSL's SM3,
 * the page has no such thing. Built on noble-hashes' Merkle-Damgård base (the padding and length
 * encoding SM3 shares with SHA-256: big-endian, 64-byte blocks, 64-bit bit length), so only the
 * compression function of GB/T 32905 §5.3 is written here. Cross-checked against OpenSSL's SM3 on
 * every length and chunking in test/web/sm3.test.ts.
 */

import { HashMD } from '@noble/hashes/_md.js';

/** GB/T 32905 §4.1: the initial value. */
const IV = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
] as const;

/** GB/T 32905 §4.2: the constants T_j (j < 16 and j >= 16). */
const T_LOW = 0x79cc4519;
const T_HIGH = 0x7a879d8a;

const W = new Uint32Array(68);
const W1 = new Uint32Array(64);

const rotl = (x: number, n: number): number => {
  const s = n & 31;
  return s === 0 ? x : (x << s) | (x >>> (32 - s));
};
/** §4.4: permutations. */
const p0 = (x: number): number => x ^ rotl(x, 9) ^ rotl(x, 17);
const p1 = (x: number): number => x ^ rotl(x, 15) ^ rotl(x, 23);

class Sm3 extends HashMD<Sm3> {
  private a = IV[0] | 0;
  private b = IV[1] | 0;
  private c = IV[2] | 0;
  private d = IV[3] | 0;
  private e = IV[4] | 0;
  private f = IV[5] | 0;
  private g = IV[6] | 0;
  private h = IV[7] | 0;

  constructor() {
    super(64, 32, 8, false);
  }

  protected get(): number[] {
    return [this.a, this.b, this.c, this.d, this.e, this.f, this.g, this.h];
  }

  protected set(
    a: number,
    b: number,
    c: number,
    d: number,
    e: number,
    f: number,
    g: number,
    h: number,
  ): void {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    this.e = e | 0;
    this.f = f | 0;
    this.g = g | 0;
    this.h = h | 0;
  }

  /** §5.3.2 message expansion and §5.3.3 compression of one 64-byte block. */
  protected process(view: DataView, offset: number): void {
    for (let j = 0; j < 16; j++, offset += 4) W[j] = view.getUint32(offset, false);
    for (let j = 16; j < 68; j++) {
      W[j] =
        p1((W[j - 16] as number) ^ (W[j - 9] as number) ^ rotl(W[j - 3] as number, 15)) ^
        rotl(W[j - 13] as number, 7) ^
        (W[j - 6] as number);
    }
    for (let j = 0; j < 64; j++) W1[j] = (W[j] as number) ^ (W[j + 4] as number);
    let { a, b, c, d, e, f, g, h } = this;
    for (let j = 0; j < 64; j++) {
      const low = j < 16;
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + rotl(low ? T_LOW : T_HIGH, j)) | 0, 7);
      const ss2 = ss1 ^ a12;
      const ff = low ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = low ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = (ff + d + ss2 + (W1[j] as number)) | 0;
      const tt2 = (gg + h + ss1 + (W[j] as number)) | 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = p0(tt2);
    }
    this.set(
      a ^ this.a,
      b ^ this.b,
      c ^ this.c,
      d ^ this.d,
      e ^ this.e,
      f ^ this.f,
      g ^ this.g,
      h ^ this.h,
    );
  }

  protected roundClean(): void {
    W.fill(0);
    W1.fill(0);
  }

  destroy(): void {
    this.destroyed = true;
    this.set(0, 0, 0, 0, 0, 0, 0, 0);
    this.buffer.fill(0);
  }

  _cloneInto(to?: Sm3): Sm3 {
    const target = to ?? new Sm3();
    target.set(...(this.get() as [number, number, number, number, number, number, number, number]));
    return this._cloneIntoMeta(target);
  }
}

/** A fresh incremental SM3: `update(bytes)` any number of times, then `digest()` (32 bytes). */
export function createSm3(): { update(data: Uint8Array): unknown; digest(): Uint8Array } {
  return new Sm3();
}
