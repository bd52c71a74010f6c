/**
 * A strict DER reader (ITU-T X.690) for the few structures the project reads itself: public keys
 * (SubjectPublicKeyInfo) in the browser's verifier, and the node's PKCS#8 key file. Pure.
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
} as const;

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
    let length = this.bytes[at + 1];
    let start = at + 2;
    if (length === undefined) throw new Error('DER: truncated');
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 2) throw new Error('DER: unsupported length');
      length = 0;
      for (let i = 0; i < count; i++) {
        const byte = this.bytes[start + i];
        if (byte === undefined) throw new Error('DER: truncated');
        length = length * 256 + byte;
      }
      if (length < 0x80 || (count === 2 && length < 0x100))
        throw new Error('DER: non-minimal length');
      start += count;
    }
    const end = start + length;
    if (end > this.bytes.length) throw new Error('DER: truncated');
    this.#offset = end;
    return this.bytes.subarray(start, end);
  }

  /** The next element, an OBJECT IDENTIFIER: its contents as hex (compare with {@link OID}). */
  readOid(): string {
    return Buffer.from(this.read(0x06)).toString('hex');
  }
}
