/**
 * A strict DER reader (ITU-T X.690) for the few structures the project reads itself: public keys
 * (SubjectPublicKeyInfo) in the browser's verifier, the node's PKCS#8 key file, and RFC 3161 time
 * stamps (core/timestamp.ts); and the encoder of the few it writes (signatures, time-stamp
 * requests). Pure.
 */

/** Object identifiers, as the hex of their DER contents (no tag, no length). */
export const OID = {
  /** 1.3.101.112, RFC 8410 */
  ed25519: '2b6570',
  /** 1.2.840.10045.2.1, RFC 5480 */
  ecPublicKey: '2a8648ce3d0201',
  /** 1.2.840.10045.3.1.7, RFC 5480 */
  prime256v1: '2a8648ce3d030107',
  /** 1.2.156.10197.1.301, GM/T 0006 */
  sm2p256v1: '2a811ccf5501822d',
  /** 1.2.840.113549.1.1.1, RFC 8017 */
  rsaEncryption: '2a864886f70d010101',
  /** 1.2.840.113549.1.1.11, RFC 8017 */
  sha256WithRSAEncryption: '2a864886f70d01010b',
  /** 1.2.840.10045.4.3.2, RFC 5758 */
  ecdsaWithSha256: '2a8648ce3d040302',
  /** 1.2.156.10197.1.501, GM/T 0006 */
  sm2WithSm3: '2a811ccf55018375',
  /** 2.16.840.1.101.3.4.2.1, NIST */
  sha256: '608648016503040201',
  /** 1.2.156.10197.1.401, GM/T 0006 */
  sm3: '2a811ccf55018311',
  /** 1.2.840.113549.1.7.2, RFC 5652 */
  signedData: '2a864886f70d010702',
  /** 1.2.840.113549.1.9.16.1.4, RFC 3161 */
  tstInfo: '2a864886f70d0109100104',
  /** 1.2.840.113549.1.9.3, RFC 5652 */
  contentTypeAttribute: '2a864886f70d010903',
  /** 1.2.840.113549.1.9.4, RFC 5652 */
  messageDigestAttribute: '2a864886f70d010904',
} as const;

/** One element: its tag, its contents, and its whole encoding (tag and length included). */
export interface DerElement {
  readonly tag: number;
  readonly contents: Uint8Array;
  readonly encoded: Uint8Array;
}

/** A DER reader over `bytes`, one element after another; every read checks its bounds. */
export class DerReader {
  #offset = 0;

  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#offset === this.bytes.length;
  }

  /** How many bytes were read. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * The next element, which must have tag `tag`: its contents. Definite, minimal lengths only.
   * @throws Error for another tag, a length that is not DER's or runs past the bytes.
   */
  read(tag: number): Uint8Array {
    const at = this.#offset;
    if (this.bytes[at] !== tag) throw new Error(`DER: expected tag ${tag} at ${at}`);
    return this.element().contents;
  }

  /** The tag of the next element, or `undefined` at the end. */
  peek(): number | undefined {
    return this.bytes[this.#offset];
  }

  /**
   * The next element, whatever its tag (single-byte tags only).
   * @throws Error for a multi-byte tag, a length that is not DER's or runs past the bytes.
   */
  element(): DerElement {
    const at = this.#offset;
    const tag = this.bytes[at];
    if (tag === undefined) throw new Error('DER: truncated');
    if ((tag & 0x1f) === 0x1f) throw new Error(`DER: multi-byte tag at ${at}`);
    let length = this.bytes[at + 1];
    let start = at + 2;
    if (length === undefined) throw new Error('DER: truncated');
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3) throw new Error('DER: unsupported length');
      length = 0;
      for (let i = 0; i < count; i++) {
        const byte = this.bytes[start + i];
        if (byte === undefined) throw new Error('DER: truncated');
        length = length * 256 + byte;
      }
      if (length < 0x80 || length < 2 ** (8 * (count - 1)))
        throw new Error('DER: non-minimal length');
      start += count;
    }
    const end = start + length;
    if (end > this.bytes.length) throw new Error('DER: truncated');
    this.#offset = end;
    return {
      tag,
      contents: this.bytes.subarray(start, end),
      encoded: this.bytes.subarray(at, end),
    };
  }

  /** The next element if it has tag `tag`, else `undefined` (nothing read): OPTIONAL fields. */
  optional(tag: number): Uint8Array | undefined {
    return this.peek() === tag ? this.read(tag) : undefined;
  }

  /**
   * The next element, an INTEGER that is not negative, in its one DER encoding (X.690 §8.3.2: no
   * superfluous leading byte): its magnitude, big-endian, without the sign byte (`00` for zero).
   * @throws Error for another tag, a negative or non-minimal integer.
   */
  readUnsigned(): Uint8Array {
    const bytes = this.read(0x02);
    const [first, second] = bytes;
    if (first === undefined) throw new Error('DER: empty INTEGER');
    if (first & 0x80) throw new Error('DER: negative INTEGER');
    if (first === 0 && second !== undefined && !(second & 0x80))
      throw new Error('DER: INTEGER not minimally encoded');
    return first === 0 && second !== undefined ? bytes.subarray(1) : bytes;
  }

  /** The next element, an OBJECT IDENTIFIER: its contents as hex (compare with {@link OID}). */
  readOid(): string {
    return Buffer.from(this.read(0x06)).toString('hex');
  }
}

/** The DER element of `tag` around `contents` (definite lengths below 64 KiB). */
export function derElement(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  if (n >= 0x10000) throw new RangeError('DER: element over 64 KiB');
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}

/** The DER INTEGER of non-negative `value`. */
export function derUnsigned(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return derElement(0x02, Buffer.from(hex, 'hex'));
}
