import { describe, expect, it } from 'vitest';
import { blockHash } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, type DigestSet } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import type { TrustFile, TrustedKey } from '../../core/trust';
import { mergeTrust, parseTrustFile } from '../../core/trust';
import {
  CHECK_CODES,
  VERDICTS,
  verifyReceipt,
  type CheckCode,
  type Verdict,
} from '../../core/verify';
import {
  makeAnchoredFixture,
  makeFixture,
  makeNodeKey,
  trustFor,
  type Fixture,
} from '../support/receipt-factory';

const TIME = '2026-11-28T10:00:00.000Z';
const CODES = Object.keys(CHECK_CODES) as CheckCode[];

const ITEM = {
  evidenceType: 'video',
  mediaType: 'video/mp4',
  size: 101,
  identityCommitment: digestBytes(Buffer.from('salt-1 identity')).sha256,
  metadataCommitment: digestBytes(Buffer.from('salt-2 metadata')).sha256,
  process: { token: 'deal-42', phase: 'before' },
} as const;
const fixture = makeFixture(3, { time: TIME, item: ITEM });
const fixtureOfEd25519 = fixture;

function receiptOf(f: Fixture, index = 0): Receipt {
  const receipt = f.receipts[index];
  if (!receipt) throw new Error(`no receipt ${index}`);
  return receipt;
}

function fileOf(f: Fixture, index = 0): Buffer {
  const file = f.files[index];
  if (!file) throw new Error(`no file ${index}`);
  return file;
}

/** A deep copy as a JSON reader would produce it. */
function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The trust file with its single pinned key replaced by `change(key)`. */
function withKey(trust: TrustFile, change: (key: TrustedKey) => TrustedKey): TrustFile {
  const chain = trust.chains[0];
  const key = chain?.keys[0];
  if (!chain || !key) throw new Error('fixture trust has no key');
  return { ...trust, chains: [{ ...chain, keys: [change(key)] }] };
}

/** Asserts the verdict is a consistent failure and returns its code. */
function failureCode(verdict: Verdict): CheckCode {
  expect(verdict.verdict).not.toBe('VERIFIED');
  const code = verdict.code;
  expect(code).toBeDefined();
  expect(CODES).toContain(code);
  expect(verdict.verdict).toBe(CHECK_CODES[code as CheckCode]);
  const last = verdict.checks[verdict.checks.length - 1];
  expect(last).toMatchObject({ status: 'fail', code });
  expect(verdict.checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  return code as CheckCode;
}

describe('verifyReceipt on genuine receipts', () => {
  it('maps every check code to a verdict', () => {
    for (const code of CODES) expect(VERDICTS).toContain(CHECK_CODES[code]);
  });

  it.each([0, 1, 2])('verifies receipt %i with the file digests, passing every step', (index) => {
    const receipt = receiptOf(fixture, index);
    const verdict = verifyReceipt(asJson(receipt), fixture.trust, {
      fileDigests: digestBytes(fileOf(fixture, index)),
    });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.code).toBeUndefined();
    expect(verdict.checks.map((c) => [c.step, c.status])).toEqual([
      ['receipt', 'pass'],
      ['digest', 'pass'],
      ['inclusion', 'pass'],
      ['transaction', 'pass'],
      ['block', 'pass'],
      ['signature', 'pass'],
    ]);
    expect(verdict.facts).toEqual({
      digests: receipt.record.digests,
      depositor: receipt.record.depositor,
      chainId: 'test-chain',
      blockNumber: 7,
      txId: receipt.ledger.txId,
      existedBy: TIME,
      blockHash: blockHash(receipt.proof.block.header),
      signer: { keyId: fixture.key.keyId, operator: 'Test node' },
    });
  });

  it('verifies without file digests, marking the digest step skipped', () => {
    const verdict = verifyReceipt(asJson(receiptOf(fixture)), fixture.trust);
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.checks.find((c) => c.step === 'digest')?.status).toBe('skip');
    expect(verdict.checks.filter((c) => c.status === 'pass')).toHaveLength(5);
  });

  it('verifies with the sha256 digest of the file alone', () => {
    const { sha256 } = digestBytes(fileOf(fixture));
    expect(
      verifyReceipt(receiptOf(fixture), fixture.trust, { fileDigests: { sha256 } }).verdict,
    ).toBe('VERIFIED');
  });

  it('verifies a receipt from a single-record batch in a single-transaction block', () => {
    const small = makeFixture(1, { otherTxs: 0 });
    expect(receiptOf(small).inclusion.path).toEqual([]);
    expect(receiptOf(small).proof.txPath).toEqual([]);
    const verdict = verifyReceipt(asJson(receiptOf(small)), small.trust, {
      fileDigests: digestBytes(fileOf(small)),
    });
    expect(verdict.verdict).toBe('VERIFIED');
  });

  it('verifies against a trust file that pins several chains and keys', () => {
    const extra = makeNodeKey();
    const extraKey: TrustedKey = {
      keyId: extra.keyId,
      algorithm: 'ed25519',
      publicKey: extra.spki.toString('base64'),
    };
    const ours = withKey(fixture.trust, (key) => key);
    const chain = ours.chains[0] as TrustFile['chains'][number];
    const several = mergeTrust(trustFor('court-chain', makeNodeKey()), {
      ...ours,
      chains: [{ ...chain, keys: [extraKey, ...chain.keys] }],
    });
    expect(several.chains).toHaveLength(2);
    expect(verifyReceipt(receiptOf(fixture), several).verdict).toBe('VERIFIED');
  });
});

describe('verifyReceipt verdicts', () => {
  it('gives MISMATCH (DIGEST_MISMATCH) for a file with one byte changed', () => {
    const changed = Buffer.from(fileOf(fixture));
    changed[50] = (changed[50] as number) ^ 0x01;
    const verdict = verifyReceipt(receiptOf(fixture), fixture.trust, {
      fileDigests: digestBytes(changed),
    });
    expect(failureCode(verdict)).toBe('DIGEST_MISMATCH');
    expect(verdict.verdict).toBe('MISMATCH');
    expect(verdict.checks.map((c) => [c.step, c.status])).toEqual([
      ['receipt', 'pass'],
      ['digest', 'fail'],
    ]);
    expect(verdict.facts).toBeUndefined();
    expect(verdict.claims?.txId).toBe(receiptOf(fixture).ledger.txId);
  });

  it('gives MISMATCH for another file of the same batch, and when only the sm3 digest differs', () => {
    const other = digestBytes(fileOf(fixture, 1));
    expect(verifyReceipt(receiptOf(fixture), fixture.trust, { fileDigests: other }).code).toBe(
      'DIGEST_MISMATCH',
    );
    const mixed: DigestSet = { sha256: digestBytes(fileOf(fixture)).sha256, sm3: other.sm3 };
    expect(verifyReceipt(receiptOf(fixture), fixture.trust, { fileDigests: mixed }).code).toBe(
      'DIGEST_MISMATCH',
    );
  });

  it('gives UNTRUSTED (KEY_NOT_TRUSTED) when the trust file pins another key', () => {
    const verdict = verifyReceipt(receiptOf(fixture), trustFor('test-chain', makeNodeKey()));
    expect(failureCode(verdict)).toBe('KEY_NOT_TRUSTED');
    expect(verdict.verdict).toBe('UNTRUSTED');
  });

  it('gives UNTRUSTED (KEY_NOT_TRUSTED) when the pinned key is for another algorithm or unreadable', () => {
    const otherAlgorithm = withKey(fixture.trust, (k) => ({
      ...k,
      algorithm: 'ecdsa-p256-sha256',
    }));
    expect(failureCode(verifyReceipt(receiptOf(fixture), otherAlgorithm))).toBe('KEY_NOT_TRUSTED');
    const unreadable = withKey(fixture.trust, (k) => ({ ...k, publicKey: 'AAAA' }));
    expect(failureCode(verifyReceipt(receiptOf(fixture), unreadable))).toBe('KEY_NOT_TRUSTED');
  });

  it('gives UNTRUSTED (KEY_NOT_TRUSTED) when the pinned key id is not the digest of its public key', () => {
    const stranger = makeNodeKey();
    const lying = withKey(fixture.trust, (k) => ({
      ...k,
      publicKey: stranger.spki.toString('base64'),
    }));
    expect(failureCode(verifyReceipt(receiptOf(fixture), lying))).toBe('KEY_NOT_TRUSTED');
  });

  it('gives UNTRUSTED (CHAIN_NOT_TRUSTED) when the trust file names only another chain', () => {
    const verdict = verifyReceipt(receiptOf(fixture), trustFor('other-chain', fixture.key));
    expect(failureCode(verdict)).toBe('CHAIN_NOT_TRUSTED');
    expect(verdict.verdict).toBe('UNTRUSTED');
    const empty: TrustFile = { ...fixture.trust, chains: [] };
    expect(failureCode(verifyReceipt(receiptOf(fixture), empty))).toBe('CHAIN_NOT_TRUSTED');
  });

  it.each([
    ['starts after the block', { notBefore: '2026-11-28T10:00:00.001Z' }],
    ['ended before the block', { notAfter: '2026-11-28T09:59:59.999Z' }],
    [
      'lies entirely in the past',
      { notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2021-01-01T00:00:00.000Z' },
    ],
  ])('gives UNTRUSTED (KEY_NOT_VALID_AT_TIME) when the key window %s', (_what, window) => {
    const verdict = verifyReceipt(
      receiptOf(fixture),
      withKey(fixture.trust, (k) => ({ ...k, ...window })),
    );
    expect(failureCode(verdict)).toBe('KEY_NOT_VALID_AT_TIME');
    expect(verdict.verdict).toBe('UNTRUSTED');
  });

  it.each([
    ['opens at the block time', { notBefore: TIME }],
    ['closes at the block time', { notAfter: TIME }],
    [
      'spans the block time',
      { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z' },
    ],
  ])('verifies when the key window %s', (_what, window) => {
    const trust = withKey(fixture.trust, (k) => ({ ...k, ...window }));
    expect(verifyReceipt(receiptOf(fixture), trust).verdict).toBe('VERIFIED');
  });

  it('refuses a key whose notAfter, written without fraction, is before the block', () => {
    const late = makeFixture(1, { time: '2026-11-28T10:00:00.500Z' });
    const trust = withKey(late.trust, (k) => ({ ...k, notAfter: '2026-11-28T10:00:00Z' }));
    expect(verifyReceipt(receiptOf(late), trust).code).toBe('KEY_NOT_VALID_AT_TIME');
  });

  it('accepts a key whose notBefore, written without fraction, is the block time', () => {
    const trust = withKey(fixture.trust, (k) => ({ ...k, notBefore: '2026-11-28T10:00:00Z' }));
    expect(verifyReceipt(receiptOf(fixture), trust).verdict).toBe('VERIFIED');
  });

  it('gives PROOF_INVALID (SIGNATURE_INVALID) for a signature with one flipped bit', () => {
    for (const bit of [0, 7, 100, 511]) {
      const receipt = asJson(receiptOf(fixture)) as {
        proof: { block: { signature: { value: string } } };
      };
      const bytes = Buffer.from(receipt.proof.block.signature.value, 'base64');
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
      receipt.proof.block.signature.value = bytes.toString('base64');
      const verdict = verifyReceipt(receipt, fixture.trust, {
        fileDigests: digestBytes(fileOf(fixture)),
      });
      expect(failureCode(verdict)).toBe('SIGNATURE_INVALID');
      expect(verdict.verdict).toBe('PROOF_INVALID');
    }
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Key = string | number;

interface Mutation {
  readonly label: string;
  readonly value: Json;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const HEX_LETTERS = 'abcdef';
const DIGITS = '0123456789';
const OTHERS: Record<string, string> = {
  '+': '/',
  '/': '+',
  '=': 'A',
  '-': '.',
  '.': '_',
  _: '-',
  ':': '-',
  '@': '.',
  ' ': '_',
};

/** Another character of the same alphabet (hex stays hex, digits stay digits) where there is one. */
function sibling(char: string): string {
  for (const alphabet of [DIGITS, HEX_LETTERS, LOWER, UPPER]) {
    const at = alphabet.indexOf(char);
    if (at >= 0) return alphabet[(at + 1) % alphabet.length] as string;
  }
  return OTHERS[char] ?? (char === 'x' ? 'y' : 'x');
}

function replaceAt(text: string, index: number, char: string): string {
  return `${text.slice(0, index)}${char}${text.slice(index + 1)}`;
}

/** A copy of `root` with the value at `path` replaced, or removed when `value` is undefined. */
function setAt(root: Json, path: readonly Key[], value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value;
  const copy = structuredClone(root);
  let parent: Json = copy;
  for (const key of path.slice(0, -1)) parent = (parent as Record<Key, Json>)[key] as Json;
  const last = path[path.length - 1] as Key;
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(last as number, 1);
    else parent[last as number] = value;
  } else if (value === undefined) {
    delete (parent as Record<string, Json>)[last];
  } else {
    (parent as Record<string, Json>)[last] = value;
  }
  return copy;
}

/**
 * Every single-step change of a JSON document, transparency-dev style: each leaf changed in
 * place (a character of a string within its alphabet, numbers +1 and -1, booleans flipped), each
 * array element dropped, duplicated and swapped with the next, each property deleted, an extra
 * property added to each object, and each non-root value replaced by null.
 */
function mutations(root: Json): Mutation[] {
  const out: Mutation[] = [];
  const visit = (value: Json, path: Key[]): void => {
    const at = `/${path.join('/')}`;
    if (path.length > 0 && value !== null)
      out.push({ label: `${at}=null`, value: setAt(root, path, null) });
    if (typeof value === 'string') {
      if (value.length === 0) out.push({ label: `${at}="a"`, value: setAt(root, path, 'a') });
      const positions = new Set(
        [0, Math.floor(value.length / 2), value.length - 1].filter((i) => i >= 0),
      );
      for (const i of positions) {
        const changed = replaceAt(value, i, sibling(value[i] as string));
        out.push({ label: `${at}[char ${i}]`, value: setAt(root, path, changed) });
      }
    } else if (typeof value === 'number') {
      out.push({ label: `${at}+1`, value: setAt(root, path, value + 1) });
      out.push({ label: `${at}-1`, value: setAt(root, path, value - 1) });
    } else if (typeof value === 'boolean') {
      out.push({ label: `${at} flipped`, value: setAt(root, path, !value) });
    } else if (value === null) {
      out.push({ label: `${at}=0`, value: setAt(root, path, 0) });
      out.push({ label: `${at}={}`, value: setAt(root, path, {}) });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push({ label: `${at} drop ${i}`, value: setAt(root, [...path, i], undefined) });
        const duplicated = [...value.slice(0, i + 1), item, ...value.slice(i + 1)];
        out.push({ label: `${at} duplicate ${i}`, value: setAt(root, path, duplicated) });
        if (i + 1 < value.length && canonicalJson(item) !== canonicalJson(value[i + 1] as Json)) {
          const swapped = [...value];
          [swapped[i], swapped[i + 1]] = [value[i + 1] as Json, item];
          out.push({ label: `${at} swap ${i}`, value: setAt(root, path, swapped) });
        }
        visit(item, [...path, i]);
      });
    } else {
      out.push({ label: `${at} + extra`, value: setAt(root, [...path, 'extra'], 'x') });
      for (const [key, child] of Object.entries(value)) {
        out.push({ label: `${at} delete ${key}`, value: setAt(root, [...path, key], undefined) });
        visit(child, [...path, key]);
      }
    }
  };
  visit(root, []);
  return out;
}

describe.each(['ed25519', 'sm2-sm3'] as const)(
  'verifyReceipt against mutated receipts, %s',
  (alg) => {
    const fixture =
      alg === 'ed25519'
        ? fixtureOfEd25519
        : makeFixture(3, { time: TIME, item: ITEM, key: makeNodeKey(alg) });
    const original = asJson(receiptOf(fixture)) as unknown as Json;
    const fileDigests = digestBytes(fileOf(fixture));
    const all = mutations(original);

    it('generates many distinct mutations, none of them a no-op', () => {
      expect(all.length).toBeGreaterThan(250);
      const originalText = canonicalJson(original);
      for (const m of all) expect(canonicalJson(m.value), m.label).not.toBe(originalText);
    });

    it('never verifies a mutated receipt, and fails each with a known check code', () => {
      const seen = new Map<CheckCode, number>();
      for (const { label, value } of all) {
        for (const options of [{ fileDigests }, {}]) {
          const verdict = verifyReceipt(value, fixture.trust, options);
          expect(verdict.verdict, label).not.toBe('VERIFIED');
          const code = failureCode(verdict);
          seen.set(code, (seen.get(code) ?? 0) + 1);
        }
      }
      for (const code of seen.keys()) expect(CODES).toContain(code);
      // The generator reaches every step of the algorithm.
      expect([...seen.keys()].sort()).toEqual(
        expect.arrayContaining([
          'BLOCK_MISMATCH',
          'DIGEST_MISMATCH',
          'INCLUSION_INVALID',
          'KEY_NOT_TRUSTED',
          'RECEIPT_MALFORMED',
          'RECORD_NOT_NORMAL',
          'RESULT_MISMATCH',
          'SIGNATURE_INVALID',
          'TX_MISMATCH',
          'TX_NOT_IN_BLOCK',
        ]),
      );
    });

    it('never verifies a receipt with one byte of its JSON text replaced', () => {
      const small = makeFixture(1, { otherTxs: 0, key: makeNodeKey(alg) });
      expect(receiptOf(small).proof.block.signature.algorithm).toBe(alg);
      const text = JSON.stringify(receiptOf(small));
      const digests = digestBytes(fileOf(small));
      expect(verifyReceipt(JSON.parse(text), small.trust, { fileDigests: digests }).verdict).toBe(
        'VERIFIED',
      );
      const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
      let rejectedAtParse = 0;
      let rejectedByVerifier = 0;
      for (let i = 0; i < text.length; i++) {
        const original = text[i] as string;
        const spread = printable[(i * 31) % printable.length] as string;
        const replacements = new Set([sibling(original), spread === original ? '~' : spread]);
        for (const char of replacements) {
          if (char === original) continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(replaceAt(text, i, char));
          } catch {
            rejectedAtParse += 1;
            continue;
          }
          const verdict = verifyReceipt(parsed, small.trust, { fileDigests: digests });
          expect(verdict.verdict, `byte ${i}: ${original} -> ${char}`).not.toBe('VERIFIED');
          failureCode(verdict);
          rejectedByVerifier += 1;
        }
      }
      expect(rejectedByVerifier).toBeGreaterThan(text.length);
      expect(rejectedAtParse).toBeGreaterThan(0);
    });
  },
);

describe('verifyReceipt with a key the trust file marks compromised', () => {
  // Evidence block at 10:00:00, anchored on the court chain at 10:10:00 (the fixture's times).
  const anchored = makeAnchoredFixture(1, { time: TIME });
  const file = anchored.files[0] as Buffer;
  const fileDigests = digestBytes(file);
  const marked = (trust: TrustFile, chainId: string, since: string): TrustFile => ({
    ...trust,
    chains: trust.chains.map((chain) =>
      chain.chainId === chainId
        ? { ...chain, keys: chain.keys.map((key) => ({ ...key, compromisedSince: since })) }
        : chain,
    ),
  });
  const evidenceChain = anchored.receipts[0]!.ledger.chainId;

  it('refuses a block the key signed when nothing independent dates it, whatever time it claims', () => {
    const trust = marked(anchored.trust, evidenceChain, '2026-12-01T00:00:00.000Z');
    const verdict = verifyReceipt(anchored.plain[0], trust, { fileDigests });
    expect(failureCode(verdict)).toBe('KEY_COMPROMISED');
    expect(verdict.verdict).toBe('UNTRUSTED');
    expect(verdict.checks.at(-1)?.detail).toContain('compromised since 2026-12-01');
  });

  it('accepts it when an anchor by an uncompromised key shows the block existed by then', () => {
    const trust = marked(anchored.trust, evidenceChain, '2026-12-01T00:00:00.000Z');
    const verdict = verifyReceipt(anchored.receipts[0], trust, { fileDigests });
    expect(verdict.verdict, JSON.stringify(verdict.checks)).toBe('VERIFIED');
    // What is proven is the anchor's time, not the time the compromised key signed.
    expect(verdict.facts?.existedBy).toBe('2026-11-28T10:10:00.000Z');
    expect(verdict.checks.filter((c) => c.step === 'signature').at(-1)?.detail).toContain(
      `by its anchor on ${anchored.courtChainId}`,
    );
  });

  it('refuses it when the anchor came after the compromise began', () => {
    const trust = marked(anchored.trust, evidenceChain, '2026-11-28T10:05:00.000Z');
    const verdict = verifyReceipt(anchored.receipts[0], trust, { fileDigests });
    expect(failureCode(verdict)).toBe('KEY_COMPROMISED');
  });

  it('does not count an anchor signed by a key marked compromised', () => {
    const both = marked(
      marked(anchored.trust, evidenceChain, '2026-12-01T00:00:00.000Z'),
      anchored.courtChainId,
      '2026-12-01T00:00:00.000Z',
    );
    expect(failureCode(verifyReceipt(anchored.receipts[0], both, { fileDigests }))).toBe(
      'KEY_COMPROMISED',
    );
    // With the evidence key trusted, the receipt verifies, but that anchor dates nothing.
    const courtOnly = marked(anchored.trust, anchored.courtChainId, '2026-12-01T00:00:00.000Z');
    const verdict = verifyReceipt(anchored.receipts[0], courtOnly, { fileDigests });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.facts?.earliestAnchor).toBeUndefined();
    expect(verifyReceipt(anchored.receipts[0], anchored.trust).facts?.earliestAnchor).toBe(
      '2026-11-28T10:10:00.000Z',
    );
  });

  it('reads the mark from a trust file, and refuses one that is not a time', () => {
    const trust = marked(anchored.trust, evidenceChain, '2026-12-01T00:00:00Z');
    expect(parseTrustFile(JSON.parse(JSON.stringify(trust)))).toEqual(trust);
    const bad = marked(anchored.trust, evidenceChain, 'yesterday');
    expect(() => parseTrustFile(bad)).toThrow(
      expect.objectContaining({
        code: 'TRUST_MALFORMED',
        fields: [expect.objectContaining({ path: '/chains/0/keys/0/compromisedSince' })],
      }),
    );
  });
});

describe('verifyReceipt against mutated anchored receipts', () => {
  const anchored = makeAnchoredFixture(1, { distance: 2 });
  const original = asJson(anchored.receipts[0]) as unknown as Json;
  const fileDigests = digestBytes(anchored.files[0] as Buffer);
  const all = mutations(original).filter(
    (m) => m.label.startsWith('/anchors') || m.label === '/ delete anchors',
  );
  // Without the anchor the receipt is the plain, genuine one: it verifies unless anchors are required.
  const removesTheAnchor = new Set(['/anchors drop 0', '/ delete anchors']);

  it('starts from a genuine anchored receipt and mutates every field of its anchor proof', () => {
    expect(verifyReceipt(original, anchored.trust, { fileDigests }).verdict).toBe('VERIFIED');
    expect(all.length).toBeGreaterThan(250);
    for (const part of [
      'headers/1/previousHash',
      'anchorTx/tx/resultDigest',
      'anchorTx/result/anchor/headerHash',
      'anchorTx/block/signature/value',
      'anchorTx/txPath/0',
      'targetChainId',
    ]) {
      expect(
        all.some((m) => m.label.startsWith(`/anchors/0/${part}`)),
        part,
      ).toBe(true);
    }
  });

  it('never verifies a receipt whose anchor proof was mutated', () => {
    const seen = new Map<CheckCode, number>();
    for (const { label, value } of all) {
      const required = verifyReceipt(value, anchored.trust, {
        fileDigests,
        requireAnchors: ['court-chain'],
      });
      expect(required.verdict, label).not.toBe('VERIFIED');
      const code = failureCode(required);
      seen.set(code, (seen.get(code) ?? 0) + 1);
      const optional = verifyReceipt(value, anchored.trust, { fileDigests });
      if (removesTheAnchor.has(label)) {
        expect(optional.verdict, label).toBe('VERIFIED');
        expect(optional.anchors, label).toEqual([]);
      } else {
        expect(optional.verdict, label).not.toBe('VERIFIED');
        failureCode(optional);
      }
    }
    expect([...seen.keys()].sort()).toEqual(
      expect.arrayContaining([
        'ANCHOR_CHAIN_BROKEN',
        'ANCHOR_HASH_MISMATCH',
        'ANCHOR_PROOF_INVALID',
        'ANCHOR_REQUIRED',
        'ANCHOR_UNTRUSTED',
        'RECEIPT_MALFORMED',
      ]),
    );
  });
});

describe('verifyReceipt on hostile input', () => {
  const genuine = asJson(receiptOf(fixture)) as unknown as Record<string, Json>;
  const deep = (depth: number, wrap: (inner: unknown) => unknown): unknown => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = wrap(value);
    return value;
  };
  const withPath = (path: readonly Key[], value: unknown): unknown =>
    setAt(genuine, path, value as Json);
  const hexPath = (n: number) =>
    Array.from({ length: n }, (_, i) => i.toString(16).padStart(64, '0'));

  const hostile: ReadonlyArray<readonly [string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['an empty array', []],
    ['a string', 'x'],
    ['a number', 42],
    ['true', true],
    ['an empty object', {}],
    ['deeply nested arrays', deep(100_000, (inner) => [inner])],
    ['deeply nested objects', deep(100_000, (inner) => ({ a: inner }))],
    [
      'a deeply nested record',
      withPath(
        ['record'],
        deep(10_000, (inner) => ({ digests: inner })),
      ),
    ],
    ['a deeply nested extra property', { ...genuine, extra: deep(10_000, (inner) => [inner]) }],
    [
      'a __proto__ property',
      JSON.parse(`{"__proto__":{"verified":true},${JSON.stringify(genuine).slice(1)}`),
    ],
    ['leafIndex 2**60', withPath(['inclusion', 'leafIndex'], 2 ** 60)],
    ['leafIndex 1e308', withPath(['inclusion', 'leafIndex'], 1e308)],
    ['treeSize 1e308', withPath(['inclusion', 'treeSize'], 1e308)],
    ['blockNumber -1', withPath(['ledger', 'blockNumber'], -1)],
    ['txIndex 2**53', withPath(['proof', 'txIndex'], 2 ** 53)],
    ['txIndex MAX_SAFE_INTEGER', withPath(['proof', 'txIndex'], Number.MAX_SAFE_INTEGER)],
    ['leafIndex NaN', withPath(['inclusion', 'leafIndex'], NaN)],
    ['leafIndex Infinity', withPath(['inclusion', 'leafIndex'], Infinity)],
    ['leafIndex 0.5', withPath(['inclusion', 'leafIndex'], 0.5)],
    ['leafIndex as a string', withPath(['inclusion', 'leafIndex'], '0')],
    ['an inclusion path of 1000 elements', withPath(['inclusion', 'path'], hexPath(1000))],
    ['a transaction path of 1000 elements', withPath(['proof', 'txPath'], hexPath(1000))],
    [
      'a huge tree with a path of 53 hashes',
      setAt(
        setAt(
          withPath(['inclusion', 'treeSize'], Number.MAX_SAFE_INTEGER) as Json,
          ['inclusion', 'leafIndex'],
          Number.MAX_SAFE_INTEGER - 1,
        ),
        ['inclusion', 'path'],
        hexPath(53),
      ),
    ],
    ['a path of non-hex strings', withPath(['inclusion', 'path'], ['zz'.repeat(32)])],
    ['a path of numbers', withPath(['inclusion', 'path'], [1, 2, 3])],
    ['a megabyte string', withPath(['record', 'mediaType'], 'a'.repeat(1 << 20))],
    [
      'a megabyte signature',
      withPath(['proof', 'block', 'signature', 'value'], 'A'.repeat(1 << 20)),
    ],
    ['a record that is a string', withPath(['record'], 'x')],
    ['a proof that is an array', withPath(['proof'], [])],
    ['version 2', withPath(['version'], 2)],
    ['another document type', withPath(['type'], 'judicial-evidence-trust')],
    [
      'a header time before the transaction',
      withPath(['proof', 'block', 'header', 'time'], '2000-01-01T00:00:00.000Z'),
    ],
    ['an impossible time', withPath(['ledger', 'time'], '9999-99-99T99:99:99.999Z')],
  ];

  it.each(hostile)('never throws and never verifies: %s', (_what, value) => {
    let verdict: Verdict | undefined;
    expect(() => {
      verdict = verifyReceipt(value, fixture.trust, { fileDigests: digestBytes(fileOf(fixture)) });
    }).not.toThrow();
    expect(verdict?.verdict).not.toBe('VERIFIED');
    failureCode(verdict as Verdict);
  });

  it('never throws for a receipt that is not plain data', () => {
    const throwing = {
      get type(): string {
        throw new Error('hostile getter');
      },
    };
    const cyclic: Record<string, unknown> = { ...genuine };
    cyclic.extra = cyclic;
    for (const value of [throwing, cyclic, new Map(), () => genuine, Symbol('r'), 10n]) {
      const verdict = verifyReceipt(value, fixture.trust);
      expect(failureCode(verdict)).toBe('RECEIPT_MALFORMED');
    }
  });
});
