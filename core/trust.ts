/**
 * The trust file: the roots a verifier pins, per chain. A court keeps its own copy; the verifier
 * believes nothing a receipt says about keys, only what this file says.
 */

import { canonicalBytes } from './canonical';
import { formatDigest, sha256, type Digest } from './digest';
import { NAME_PATTERN } from './evidence';
import { ValidationError } from './errors';
import { validateOrThrow } from './schema';
import { blockSigningBytes, type SignedBlockHeader } from './block';
import {
  keyIdOf,
  PINNED_KEY_ALGORITHMS,
  publicKeyFromSpki,
  verifySignature,
  type PinnedKeyAlgorithm,
} from './signature';

export const TRUST_FILE_TYPE = 'judicial-evidence-trust';

export interface TrustedKey {
  readonly keyId: Digest;
  /** What the key signs with: a block signature's algorithm, or a time-stamp authority's. */
  readonly algorithm: PinnedKeyAlgorithm;
  /** Base64 SubjectPublicKeyInfo DER. */
  readonly publicKey: string;
  /** RFC 3339; blocks before this time are not vouched for by this key. */
  readonly notBefore?: string;
  /** RFC 3339; blocks after this time are not vouched for by this key. */
  readonly notAfter?: string;
  /**
   * RFC 3339, set by whoever keeps the file (a court), never by a node: from this time on the key
   * may have been in other hands. Whoever holds it can sign a block with any time, so its
   * signature then proves nothing by itself: a block it signed counts only if an anchor, signed
   * by a key not marked so, shows the block existed by this time (core/verify.ts). Rotations it
   * signed are not followed (core/trust-update.ts).
   */
  readonly compromisedSince?: string;
}

export interface TrustedEmbeddedChain {
  readonly kind: 'embedded';
  readonly chainId: string;
  /** Who runs the chain, for people reading a report. */
  readonly operator?: string;
  readonly keys: readonly TrustedKey[];
}

/**
 * An RFC 3161 time-stamp authority a court accepts (core/timestamp.ts): its keys sign time-stamp
 * tokens, not blocks. `chainId` is the name receipts give it (an anchor's `authority`); it shares
 * the chains' name space so that one list serves anchors, requirements and compromise marks.
 */
export interface TrustedTimestampAuthority {
  readonly kind: 'rfc3161';
  readonly chainId: string;
  /** Who runs the authority, for people reading a report. */
  readonly operator?: string;
  readonly keys: readonly TrustedKey[];
  /**
   * Dotted object identifiers of the policies a court accepts tokens under (e.g. ETSI EN 319 421's
   * `0.4.0.2023.1.1`); absent: any policy of the authority.
   */
  readonly policies?: readonly string[];
}

export type TrustedChain = TrustedEmbeddedChain | TrustedTimestampAuthority;

/** What the trust file's entries can be. */
export const TRUSTED_KINDS = ['embedded', 'rfc3161'] as const;

export interface TrustFile {
  readonly type: typeof TRUST_FILE_TYPE;
  readonly version: 1;
  readonly chains: readonly TrustedChain[];
}

/** A dotted object identifier (`1.2.840.113549`). */
export const OBJECT_IDENTIFIER_PATTERN = '^[0-2](\\.(0|[1-9][0-9]*))+$';

/** RFC 3339 in UTC, as trust files write times. */
export const TRUST_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$';
export const CHAIN_ID_PATTERN = NAME_PATTERN;

export const trustFileSchema = {
  $id: 'trust-file',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'chains'],
  properties: {
    type: { const: TRUST_FILE_TYPE },
    version: { const: 1 },
    chains: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'chainId', 'keys'],
        properties: {
          kind: { type: 'string', enum: [...TRUSTED_KINDS] },
          chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
          operator: { type: 'string', maxLength: 256 },
          policies: {
            type: 'array',
            minItems: 1,
            maxItems: 16,
            uniqueItems: true,
            items: { type: 'string', pattern: OBJECT_IDENTIFIER_PATTERN, maxLength: 128 },
          },
          keys: {
            type: 'array',
            minItems: 1,
            maxItems: 64,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['keyId', 'algorithm', 'publicKey'],
              properties: {
                keyId: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
                algorithm: { type: 'string', enum: [...PINNED_KEY_ALGORITHMS] },
                publicKey: { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 4096 },
                notBefore: { type: 'string', pattern: TRUST_TIME_PATTERN },
                notAfter: { type: 'string', pattern: TRUST_TIME_PATTERN },
                compromisedSince: { type: 'string', pattern: TRUST_TIME_PATTERN },
              },
            },
          },
        },
      },
    },
  },
} as const;

/**
 * Checks a parsed trust file.
 * @throws ValidationError `TRUST_MALFORMED` naming every bad field.
 */
export function parseTrustFile(value: unknown): TrustFile {
  const trust = validateOrThrow<TrustFile>(trustFileSchema, value, 'trust file', 'TRUST_MALFORMED');
  const misplaced = trust.chains.flatMap((chain, index) =>
    chain.kind !== 'rfc3161' && 'policies' in chain
      ? [
          {
            path: `/chains/${index}/policies`,
            rule: 'kind',
            message: 'only a time-stamp authority (kind rfc3161) has policies',
          },
        ]
      : [],
  );
  if (misplaced.length > 0) {
    throw new ValidationError(
      'TRUST_MALFORMED',
      `trust file is invalid (${misplaced.length} problem${misplaced.length === 1 ? '' : 's'})`,
      misplaced,
    );
  }
  return trust;
}

/** `sha256:` of the trust file's canonical bytes: printed in reports so a court can match copies. */
export function trustFingerprint(trust: TrustFile): Digest {
  return formatDigest('sha256', sha256(canonicalBytes(trust)));
}

/** Merges trust files (e.g. the evidence chain's and the court chain's); later entries win. */
export function mergeTrust(...files: readonly TrustFile[]): TrustFile {
  const chains = new Map<string, TrustedChain>();
  for (const file of files) for (const chain of file.chains) chains.set(chain.chainId, chain);
  return { type: TRUST_FILE_TYPE, version: 1, chains: [...chains.values()] };
}

/**
 * The window of chain time a pinned key signs in, for people: `valid from T1 until T2`, `valid
 * from T1`, `valid until T2`, or `''` for a key pinned without one.
 */
export function keyWindowText(key: Pick<TrustedKey, 'notBefore' | 'notAfter'>): string {
  const from = key.notBefore !== undefined ? ` from ${key.notBefore}` : '';
  const until = key.notAfter !== undefined ? ` until ${key.notAfter}` : '';
  return from || until ? `valid${from}${until}` : '';
}

/** Why a signed block header is not vouched for by the trust file. */
export type BlockSignatureProblem =
  'CHAIN_NOT_TRUSTED' | 'KEY_NOT_TRUSTED' | 'KEY_NOT_VALID_AT_TIME' | 'SIGNATURE_INVALID';

export type BlockSignatureOutcome =
  | {
      readonly ok: true;
      readonly chain: TrustedChain;
      readonly key: TrustedKey;
      /** One line for people, in English. */
      readonly detail: string;
    }
  | { readonly ok: false; readonly problem: BlockSignatureProblem; readonly detail: string };

/**
 * Decides whether a key the trust file pins for `block.header.chainId`, valid at the header's
 * time, signed the header (the receipt's own block and an anchor's target block alike).
 * Pure; never throws: every problem is an outcome. Requires `trust` to have passed
 * {@link parseTrustFile} and `block` to have passed its schema.
 */
export function verifyBlockSignature(
  block: SignedBlockHeader,
  trust: TrustFile,
): BlockSignatureOutcome {
  const { header, signature } = block;
  const refuse = (problem: BlockSignatureProblem, detail: string): BlockSignatureOutcome => ({
    ok: false,
    problem,
    detail,
  });
  const chain = trust.chains.find((c) => c.kind === 'embedded' && c.chainId === header.chainId);
  if (!chain)
    return refuse('CHAIN_NOT_TRUSTED', `the trust file does not name chain ${header.chainId}`);
  const key = chain.keys.find(
    (k) => k.keyId === signature.keyId && k.algorithm === signature.algorithm,
  );
  if (!key) {
    return refuse('KEY_NOT_TRUSTED', `key ${signature.keyId} is not pinned for ${chain.chainId}`);
  }
  const at = Date.parse(header.time);
  if (
    (key.notBefore !== undefined && at < Date.parse(key.notBefore)) ||
    (key.notAfter !== undefined && at > Date.parse(key.notAfter))
  ) {
    return refuse('KEY_NOT_VALID_AT_TIME', `key ${key.keyId} was not valid at ${header.time}`);
  }
  const publicKey = publicKeyFromSpki(key.publicKey);
  if (!publicKey || keyIdOf(Buffer.from(key.publicKey, 'base64')) !== key.keyId) {
    return refuse('KEY_NOT_TRUSTED', `pinned key ${key.keyId} cannot be parsed or is mislabelled`);
  }
  if (
    !verifySignature(signature.algorithm, publicKey, blockSigningBytes(header), signature.value)
  ) {
    return refuse('SIGNATURE_INVALID', `block ${header.number} signature does not verify`);
  }
  const who = chain.operator ? ` (${chain.operator})` : '';
  return {
    ok: true,
    chain,
    key,
    detail: `block ${header.number} of ${chain.chainId} signed by pinned key ${key.keyId}${who}${windowOf(key)}`,
  };
}

/** `, valid from … until …` for a key pinned with a window, else `''`; and a compromise mark. */
export function windowOf(
  key: Pick<TrustedKey, 'notBefore' | 'notAfter' | 'compromisedSince'>,
): string {
  const text = keyWindowText(key);
  const compromised =
    key.compromisedSince !== undefined ? `, marked compromised since ${key.compromisedSince}` : '';
  return `${text ? `, ${text}` : ''}${compromised}`;
}
