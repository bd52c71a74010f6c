/**
 * RFC 3161 time stamps, read and checked by the project itself: a trusted time-stamp authority
 * (TSA) signs that a hash existed at a time, independently of the evidence chain's operators,
 * keys and clock. A receipt carries a time stamp of a block's header hash as an anchor of kind
 * `rfc3161-timestamp` (core/anchor.ts); this module parses the token and checks its signature.
 *
 * What is read (RFC 3161 §2.4.2, RFC 5652 §5): the token is a CMS `SignedData` whose
 * encapsulated content is a `TSTInfo` (policy, message imprint, serial number, generation time,
 * accuracy, nonce). Its one `SignerInfo` signs a set of attributes that binds the content type
 * and the digest of the `TSTInfo` bytes. Everything the verdict rests on is under that
 * signature; the certificates a token may carry are read only to tell a key the trust file does
 * not pin from a forged signature. Pure.
 */

import { createHash, type KeyObject } from 'node:crypto';
import { DerReader, derElement, OID } from './der';
import { verifySignatureBytes, type TimestampAlgorithm } from './signature';

/** Why a token cannot be read. */
export class TimestampFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimestampFormatError';
  }
}

/** The signer's part of a token (RFC 5652 `SignerInfo`). */
export interface TimestampSigner {
  /** Object identifier (hex of its DER contents) of the digest over the `TSTInfo`. */
  readonly digestAlgorithm: string;
  /** The signed attributes as signed: DER `SET OF Attribute` (tag 0x31). */
  readonly signedAttributes: Uint8Array;
  /** The `contentType` attribute (hex OID). */
  readonly contentType: string;
  /** The `messageDigest` attribute. */
  readonly messageDigest: Uint8Array;
  /** Object identifier (hex) of the signature algorithm. */
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

/** A parsed time-stamp token. */
export interface TimestampToken {
  /** Dotted object identifier of the TSA's policy. */
  readonly policy: string;
  /** Object identifier (hex) of the imprint's hash algorithm; {@link OID}.sha256 for receipts. */
  readonly imprintAlgorithm: string;
  readonly imprint: Uint8Array;
  /** The TSA's serial number of this token, hex. */
  readonly serialNumber: string;
  /** `genTime`, RFC 3339 with milliseconds (a finer fraction rounded up). */
  readonly genTime: string;
  /** The accuracy the TSA claims, in milliseconds (microseconds rounded up); 0 when absent. */
  readonly accuracyMs: number;
  /** The request's nonce as the TSA echoed it, hex; absent when none was asked. */
  readonly nonce?: string;
  /** The `TSTInfo` DER bytes, as digested into the signed attributes. */
  readonly tstInfo: Uint8Array;
  readonly signer: TimestampSigner;
  /** SubjectPublicKeyInfo DER of each certificate the token carries (maybe none). */
  readonly certificateKeys: readonly Uint8Array[];
}

function malformed(what: string, error?: unknown): never {
  const why = error instanceof Error ? `: ${error.message}` : '';
  throw new TimestampFormatError(`${what}${why}`);
}

/**
 * The contents of an INTEGER (also one tagged implicitly, as `Accuracy`'s are) that is not negative,
 * in DER's one encoding: its magnitude as hex, without the sign byte.
 */
function unsignedHex(contents: Uint8Array, what: string): string {
  try {
    return Buffer.from(new DerReader(derElement(0x02, contents)).readUnsigned()).toString('hex');
  } catch (error) {
    return malformed(what, error);
  }
}

function smallInteger(contents: Uint8Array, what: string): number {
  const value = Number.parseInt(unsignedHex(contents, what), 16);
  if (!Number.isSafeInteger(value) || value > 2 ** 32) malformed(`${what} is too large`);
  return value;
}

/** `SEQUENCE { OID, NULL? }`: the OID (hex); parameters other than absent or NULL are refused. */
function algorithmOf(reader: DerReader, what: string): string {
  const inner = new DerReader(reader.read(0x30));
  const oid = inner.readOid();
  if (!inner.done) {
    const parameters = inner.read(0x05);
    if (parameters.length !== 0 || !inner.done) malformed(`${what} has unexpected parameters`);
  }
  return oid;
}

/** Dotted text of an object identifier given as the hex of its DER contents. */
export function oidText(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of bytes) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/**
 * GeneralizedTime in DER's form (`YYYYMMDDHHMMSS[.f+]Z`, no trailing zero) to RFC 3339 with
 * milliseconds, a finer fraction rounded up: the time proven is never earlier than the token's.
 */
function generalizedTime(contents: Uint8Array): string {
  const text = Buffer.from(contents).toString('latin1');
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/.exec(text);
  if (!match) malformed(`genTime ${JSON.stringify(text)} is not a DER GeneralizedTime`);
  const [, year, month, day, hour, minute, second, fraction = ''] = match;
  const whole = `${year}-${month}-${day}T${hour}:${minute}:${second}.000Z`;
  const at = Date.parse(whole);
  if (Number.isNaN(at) || new Date(at).toISOString() !== whole)
    malformed(`genTime ${text} is not a valid time`);
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const finer = /[1-9]/.test(fraction.slice(3)) ? 1 : 0;
  return new Date(at + millis + finer).toISOString();
}

function accuracyOf(contents: Uint8Array): number {
  const reader = new DerReader(contents);
  const seconds = reader.optional(0x02);
  const millis = reader.optional(0x80);
  const micros = reader.optional(0x81);
  if (!reader.done) malformed('accuracy has unexpected fields');
  const ms =
    (seconds ? smallInteger(seconds, 'accuracy seconds') * 1000 : 0) +
    (millis ? smallInteger(millis, 'accuracy millis') : 0) +
    (micros ? Math.ceil(smallInteger(micros, 'accuracy micros') / 1000) : 0);
  return ms;
}

/** The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1), as DER. */
function certificateKey(encoded: Uint8Array): Uint8Array {
  const certificate = new DerReader(new DerReader(encoded).read(0x30));
  const tbs = new DerReader(certificate.read(0x30));
  tbs.optional(0xa0); // version
  tbs.read(0x02); // serialNumber
  tbs.read(0x30); // signature
  tbs.read(0x30); // issuer
  tbs.read(0x30); // validity
  tbs.read(0x30); // subject
  const spki = tbs.element();
  if (spki.tag !== 0x30) malformed('a certificate has no subject public key');
  return spki.encoded;
}

function tstInfoOf(bytes: Uint8Array) {
  const reader = new DerReader(bytes);
  const info = new DerReader(reader.read(0x30));
  if (!reader.done) malformed('bytes after TSTInfo');
  if (smallInteger(info.read(0x02), 'TSTInfo version') !== 1) malformed('TSTInfo version is not 1');
  const policy = oidText(info.readOid());
  const imprintReader = new DerReader(info.read(0x30));
  const imprintAlgorithm = algorithmOf(imprintReader, 'the imprint algorithm');
  const imprint = imprintReader.read(0x04);
  if (!imprintReader.done) malformed('messageImprint has unexpected fields');
  const serialNumber = unsignedHex(info.read(0x02), 'serialNumber');
  const genTime = generalizedTime(info.read(0x18));
  const accuracy = info.optional(0x30);
  const ordering = info.optional(0x01);
  if (ordering !== undefined && (ordering.length !== 1 || ordering[0] !== 0xff))
    malformed('ordering is not DER TRUE (FALSE is the default and is left out)');
  const nonce = info.optional(0x02);
  info.optional(0xa0); // tsa name
  info.optional(0xa1); // extensions
  if (!info.done) malformed('TSTInfo has unexpected fields');
  return {
    policy,
    imprintAlgorithm,
    imprint,
    serialNumber,
    genTime,
    accuracyMs: accuracy ? accuracyOf(accuracy) : 0,
    ...(nonce ? { nonce: unsignedHex(nonce, 'nonce') } : {}),
  };
}

function signerOf(contents: Uint8Array): TimestampSigner {
  const reader = new DerReader(contents);
  const version = smallInteger(reader.read(0x02), 'SignerInfo version');
  if (version !== 1 && version !== 3) malformed('SignerInfo version is not 1 or 3');
  const sid = reader.element(); // IssuerAndSerialNumber, or [0] SubjectKeyIdentifier
  if (sid.tag !== 0x30 && sid.tag !== 0x80) malformed('SignerInfo has no signer identifier');
  const digestAlgorithm = algorithmOf(reader, 'the digest algorithm');
  const attributes = reader.element();
  if (attributes.tag !== 0xa0) malformed('the token has no signed attributes');
  const signatureAlgorithm = algorithmOf(reader, 'the signature algorithm');
  const signature = reader.read(0x04);
  reader.optional(0xa1); // unsigned attributes
  if (!reader.done) malformed('SignerInfo has unexpected fields');
  let contentType: string | undefined;
  let messageDigest: Uint8Array | undefined;
  const list = new DerReader(attributes.contents);
  while (!list.done) {
    const attribute = new DerReader(list.read(0x30));
    const type = attribute.readOid();
    const values = new DerReader(attribute.read(0x31));
    if (!attribute.done) malformed('an attribute has unexpected fields');
    const only = (read: (r: DerReader) => Uint8Array | string) => {
      const value = read(values);
      if (!values.done) malformed('an attribute holds more than one value');
      return value;
    };
    if (type === OID.contentTypeAttribute) {
      if (contentType !== undefined) malformed('two contentType attributes');
      contentType = only((r) => r.readOid()) as string;
    } else if (type === OID.messageDigestAttribute) {
      if (messageDigest !== undefined) malformed('two messageDigest attributes');
      messageDigest = only((r) => r.read(0x04)) as Uint8Array;
    }
  }
  if (contentType === undefined || messageDigest === undefined)
    malformed('the signed attributes lack contentType or messageDigest');
  // The signature is over the attributes' DER as a SET OF (tag 0x31), not as the [0] they travel in.
  const signedAttributes = Uint8Array.from(attributes.encoded);
  signedAttributes[0] = 0x31;
  return {
    digestAlgorithm,
    signedAttributes,
    contentType,
    messageDigest,
    signatureAlgorithm,
    signature,
  };
}

/**
 * Parses a time-stamp token (a DER `ContentInfo` holding `SignedData`, RFC 3161 §2.4.2) strictly:
 * DER lengths, one signer, a `TSTInfo` content, signed attributes with `contentType` and
 * `messageDigest`. Checks nothing cryptographic: see {@link checkTimestampSignature}.
 * @throws TimestampFormatError naming what is wrong.
 */
export function parseTimestampToken(der: Uint8Array): TimestampToken {
  try {
    const outer = new DerReader(der);
    const contentInfo = new DerReader(outer.read(0x30));
    if (!outer.done) malformed('bytes after the token');
    if (contentInfo.readOid() !== OID.signedData) malformed('the token is not CMS SignedData');
    const explicit = new DerReader(contentInfo.read(0xa0));
    if (!contentInfo.done || explicit.done) malformed('ContentInfo has unexpected fields');
    const signedData = new DerReader(explicit.read(0x30));
    if (!explicit.done) malformed('bytes after SignedData');
    const version = smallInteger(signedData.read(0x02), 'SignedData version');
    if (version !== 3) malformed('SignedData version is not 3');
    signedData.read(0x31); // digestAlgorithms: the signer names its own
    const encapsulated = new DerReader(signedData.read(0x30));
    if (encapsulated.readOid() !== OID.tstInfo) malformed('the content is not a TSTInfo');
    const wrapped = new DerReader(encapsulated.read(0xa0));
    const tstInfo = wrapped.read(0x04);
    if (!wrapped.done || !encapsulated.done) malformed('the encapsulated content is malformed');
    const certificates = signedData.optional(0xa0);
    signedData.optional(0xa1); // revocation information
    const signers = new DerReader(signedData.read(0x31));
    if (!signedData.done) malformed('SignedData has unexpected fields');
    const signer = signerOf(signers.read(0x30));
    if (!signers.done) malformed('the token has more than one signer');
    const certificateKeys: Uint8Array[] = [];
    if (certificates) {
      const list = new DerReader(certificates);
      while (!list.done) {
        const element = list.element();
        if (element.tag === 0x30) certificateKeys.push(certificateKey(element.encoded));
      }
    }
    return { ...tstInfoOf(tstInfo), tstInfo, signer, certificateKeys };
  } catch (error) {
    if (error instanceof TimestampFormatError) throw error;
    return malformed('the time stamp token is not DER as RFC 3161 has it', error);
  }
}

/** What a pinned key must be for each signature algorithm a token may name. */
const SIGNATURE_ALGORITHMS_OF: Readonly<
  Record<string, { algorithm: TimestampAlgorithm; digest: string }>
> = {
  [OID.sha256WithRSAEncryption]: { algorithm: 'rsa-pkcs1-sha256', digest: OID.sha256 },
  // Some TSAs name the key's algorithm instead of the signature's (RFC 5754 §3.2 allows it).
  [OID.rsaEncryption]: { algorithm: 'rsa-pkcs1-sha256', digest: OID.sha256 },
  [OID.ecdsaWithSha256]: { algorithm: 'ecdsa-p256-sha256', digest: OID.sha256 },
  [OID.sm2WithSm3]: { algorithm: 'sm2-sm3', digest: OID.sm3 },
};

const DIGEST_NAMES: Readonly<Record<string, string>> = {
  [OID.sha256]: 'sha256',
  [OID.sm3]: 'sm3',
};

/**
 * The signature algorithm of `token`, as trust files name it, or `undefined` when the token uses
 * one this verifier does not accept (or a digest that does not go with it).
 */
export function timestampAlgorithmOf(token: TimestampToken): TimestampAlgorithm | undefined {
  const known = SIGNATURE_ALGORITHMS_OF[token.signer.signatureAlgorithm];
  return known && known.digest === token.signer.digestAlgorithm ? known.algorithm : undefined;
}

/** Why a parsed token does not hold. */
export type TimestampProblem = 'ALGORITHM' | 'CONTENT_TYPE' | 'MESSAGE_DIGEST' | 'SIGNATURE';

/**
 * Checks the cryptography of `token`: its algorithm is one this verifier accepts, the signed
 * attributes name a `TSTInfo` and carry the digest of the token's `TSTInfo` bytes (checked once,
 * whatever the keys), and the signature over those attributes verifies with one of `keys` (RSA
 * PKCS#1 v1.5 with SHA-256 of at least 2048 bits, ECDSA P-256 with SHA-256, or SM2 with SM3 and
 * the default signer ID). Returns the index of the first key it verifies with, else the first
 * problem (`SIGNATURE` when the token holds but no key made it). Never throws.
 */
export function checkTimestampSignature(
  token: TimestampToken,
  keys: readonly KeyObject[],
): number | TimestampProblem {
  const algorithm = timestampAlgorithmOf(token);
  if (!algorithm) return 'ALGORITHM';
  const { signer } = token;
  if (signer.contentType !== OID.tstInfo) return 'CONTENT_TYPE';
  const digestName = DIGEST_NAMES[signer.digestAlgorithm] as string;
  const digest = createHash(digestName).update(token.tstInfo).digest();
  if (!Buffer.from(signer.messageDigest).equals(digest)) return 'MESSAGE_DIGEST';
  const index = keys.findIndex((key) =>
    verifySignatureBytes(algorithm, key, signer.signedAttributes, signer.signature, {
      lowS: false,
    }),
  );
  return index >= 0 ? index : 'SIGNATURE';
}

/**
 * A DER `TimeStampReq` (RFC 3161 §2.4.1) for a SHA-256 `imprint` (32 bytes), with `nonce` (the
 * caller's random bytes; the high bit of the first is cleared and the first made non-zero, so the
 * INTEGER stays positive and minimal) and `certReq` true, so the token carries the TSA's
 * certificate. Returns the request's DER and the nonce as sent (hex, as {@link TimestampToken}
 * gives the echoed one).
 */
export function timestampRequest(
  imprint: Uint8Array,
  nonce: Uint8Array,
): { readonly der: Buffer; readonly nonce: string } {
  if (imprint.length !== 32) throw new RangeError('a SHA-256 imprint has 32 bytes');
  if (nonce.length === 0 || nonce.length > 32) throw new RangeError('a nonce has 1-32 bytes');
  const positive = Uint8Array.from(nonce);
  positive[0] = ((positive[0] as number) & 0x7f) | 0x01;
  const request = derElement(
    0x30,
    derElement(0x02, Uint8Array.of(1)),
    derElement(
      0x30,
      derElement(0x30, derElement(0x06, Buffer.from(OID.sha256, 'hex')), derElement(0x05)),
      derElement(0x04, imprint),
    ),
    derElement(0x02, positive),
    derElement(0x01, Uint8Array.of(0xff)),
  );
  return { der: request, nonce: Buffer.from(positive).toString('hex') };
}

/** A parsed `TimeStampResp` (RFC 3161 §2.4.2). */
export interface TimestampResponse {
  /** 0 granted, 1 granted with modifications, 2 rejection, 3 waiting, 4-5 revocation. */
  readonly status: number;
  /** The TSA's `statusString` texts, if any. */
  readonly statusText: readonly string[];
  /** The token's DER, when granted. */
  readonly token?: Uint8Array;
}

/**
 * Parses a DER `TimeStampResp`.
 * @throws TimestampFormatError when it is not one.
 */
export function parseTimestampResponse(der: Uint8Array): TimestampResponse {
  try {
    const outer = new DerReader(der);
    const response = new DerReader(outer.read(0x30));
    if (!outer.done) malformed('bytes after the response');
    const info = new DerReader(response.read(0x30));
    const status = smallInteger(info.read(0x02), 'status');
    const statusText: string[] = [];
    const texts = info.optional(0x30);
    if (texts) {
      const list = new DerReader(texts);
      while (!list.done) statusText.push(Buffer.from(list.read(0x0c)).toString('utf8'));
    }
    info.optional(0x03); // failInfo
    if (!info.done) malformed('PKIStatusInfo has unexpected fields');
    const token = response.done ? undefined : response.element().encoded;
    if (!response.done) malformed('TimeStampResp has unexpected fields');
    return { status, statusText, ...(token ? { token } : {}) };
  } catch (error) {
    if (error instanceof TimestampFormatError) throw error;
    return malformed('the answer is not a DER TimeStampResp', error);
  }
}

/** Why an authority's answer is not the token asked for. */
export type TimestampReplyProblem = 'REFUSED' | 'MALFORMED' | 'MISMATCH';

/** An answer of a time-stamp authority that does not give the token asked for. */
export class TimestampReplyError extends Error {
  readonly problem: TimestampReplyProblem;

  constructor(problem: TimestampReplyProblem, message: string) {
    super(message);
    this.name = 'TimestampReplyError';
    this.problem = problem;
  }
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  2: 'rejection',
  3: 'waiting',
  4: 'revocation warning',
  5: 'revocation notification',
};

/**
 * Reads an authority's `TimeStampResp` to `request` (from {@link timestampRequest}, over
 * `imprint`): granted, a token for exactly that imprint, echoing the request's nonce (else the
 * answer may be a replay of another). Checks nothing cryptographic: the signature is the
 * verifier's, under a pinned key.
 * @throws TimestampReplyError `REFUSED` (status other than granted), `MALFORMED` (not a
 *   TimeStampResp, or its token does not parse), `MISMATCH` (another imprint or nonce).
 */
export function checkTimestampReply(
  reply: Uint8Array,
  imprint: Uint8Array,
  request: { readonly nonce: string },
): { readonly der: Buffer; readonly token: TimestampToken } {
  let response: TimestampResponse;
  let token: TimestampToken;
  try {
    response = parseTimestampResponse(reply);
  } catch (error) {
    throw new TimestampReplyError('MALFORMED', (error as Error).message);
  }
  if (response.status > 1 || !response.token) {
    const why = [STATUS_NAMES[response.status] ?? `status ${response.status}`];
    throw new TimestampReplyError('REFUSED', [...why, ...response.statusText].join('; '));
  }
  const der = Buffer.from(response.token);
  try {
    token = parseTimestampToken(der);
  } catch (error) {
    throw new TimestampReplyError('MALFORMED', (error as Error).message);
  }
  if (token.imprintAlgorithm !== OID.sha256 || !Buffer.from(token.imprint).equals(imprint))
    throw new TimestampReplyError('MISMATCH', 'the token is of another hash than the one asked');
  if (token.nonce !== request.nonce)
    throw new TimestampReplyError('MISMATCH', 'the token does not echo the nonce sent (a replay?)');
  return { der, token };
}
