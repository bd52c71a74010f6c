/**
 * RFC 3161 time stamps: tokens made by a real time-stamp authority (`openssl ts`, RSA and ECDSA)
 * read and checked by core, and receipts carrying them as anchors verified end to end in core.
 */

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMESTAMP_ANCHOR_KIND, type TimestampAnchorProof } from '../../core/anchor';
import { blockHash } from '../../core/block';
import { keyIdOf, publicKeyFromSpki } from '../../core/signature';
import {
  checkTimestampSignature,
  oidText,
  parseTimestampResponse,
  parseTimestampToken,
  timestampRequest,
  TimestampFormatError,
} from '../../core/timestamp';
import {
  mergeTrust,
  parseTrustFile,
  type TrustedTimestampAuthority,
  type TrustFile,
} from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { parseReceipt, type Receipt } from '../../core/receipt';
import { createHash } from 'node:crypto';
import { derElement as der, OID } from '../../core/der';
import { opensslVerifiesSm2 } from '../support/openssl-sm2';
import { makeFixture, makeNodeKey, type NodeKey } from '../support/receipt-factory';
import {
  createTsaAuthority,
  TSA_DEFAULT_POLICY,
  TSA_OTHER_POLICY,
  type TsaAuthority,
  type TsaKeyType,
} from '../support/openssl-tsa';

const KEY_TYPES: readonly TsaKeyType[] = ['rsa', 'ec'];
const authorities = new Map<TsaKeyType, TsaAuthority>();

beforeAll(async () => {
  for (const type of KEY_TYPES) authorities.set(type, await createTsaAuthority(type));
}, 60_000);

afterAll(async () => {
  for (const authority of authorities.values()) await authority.remove();
});

function authorityOf(type: TsaKeyType): TsaAuthority {
  const authority = authorities.get(type);
  if (!authority) throw new Error(`no ${type} authority`);
  return authority;
}

/** The bare token of a granted response. */
function tokenOf(response: Buffer): Buffer {
  const parsed = parseTimestampResponse(response);
  expect(parsed.status).toBe(0);
  if (!parsed.token) throw new Error('no token');
  return Buffer.from(parsed.token);
}

/** A trust entry pinning `authority` under `name`. */
function pinned(
  authority: TsaAuthority,
  name = 'test-tsa',
  window: { notBefore?: string; notAfter?: string } = {},
): TrustedTimestampAuthority {
  return {
    kind: 'rfc3161',
    chainId: name,
    operator: 'Test time service',
    keys: [
      {
        keyId: keyIdOf(Buffer.from(authority.spkiBase64, 'base64')),
        algorithm: authority.keyType === 'rsa' ? 'rsa-pkcs1-sha256' : 'ecdsa-p256-sha256',
        publicKey: authority.spkiBase64,
        ...window,
      },
    ],
  };
}

function withAuthority(trust: TrustFile, entry: TrustedTimestampAuthority): TrustFile {
  return mergeTrust(trust, { type: 'judicial-evidence-trust', version: 1, chains: [entry] });
}

function stampedReceipt(receipt: Receipt, token: Buffer, authority = 'test-tsa'): Receipt {
  const anchor: TimestampAnchorProof = {
    kind: TIMESTAMP_ANCHOR_KIND,
    authority,
    headers: [],
    token: token.toString('base64'),
  };
  return { ...receipt, anchors: [...(receipt.anchors ?? []), anchor] };
}

function imprintOf(receipt: Receipt): string {
  return blockHash(receipt.proof.block.header).slice('sha256:'.length);
}

describe.each(KEY_TYPES)('tokens of an OpenSSL %s authority', (type) => {
  it('are read field by field and their signature verifies under the authority key only', async () => {
    const authority = authorityOf(type);
    const imprint = randomBytes(32).toString('hex');
    const der = tokenOf(await authority.stamp(imprint));
    expect(await authority.opensslVerifies(imprint, der, { token: true })).toBe(true);
    const token = parseTimestampToken(der);
    expect(Buffer.from(token.imprint).toString('hex')).toBe(imprint);
    expect(token.policy).toBe(TSA_DEFAULT_POLICY);
    expect(token.accuracyMs).toBe(1000);
    expect(token.nonce).toMatch(/^[0-9a-f]+$/);
    expect(Math.abs(Date.parse(token.genTime) - Date.now())).toBeLessThan(120_000);
    expect(token.certificateKeys.map((k) => Buffer.from(k).toString('base64'))).toContain(
      authority.spkiBase64,
    );
    const key = publicKeyFromSpki(authority.spkiBase64);
    if (!key) throw new Error('authority key does not parse');
    expect(checkTimestampSignature(token, [key])).toBe(0);
    const other = publicKeyFromSpki(authorityOf(type === 'rsa' ? 'ec' : 'rsa').spkiBase64);
    if (!other) throw new Error('other key does not parse');
    expect(checkTimestampSignature(token, [other])).toBe('SIGNATURE');
  });

  it('fail on any changed byte of what the authority signed: the TSTInfo, its attributes, the signature', async () => {
    const authority = authorityOf(type);
    const der = tokenOf(await authority.stamp(randomBytes(32).toString('hex')));
    const token = parseTimestampToken(der);
    const key = publicKeyFromSpki(authority.spkiBase64);
    if (!key) throw new Error('authority key does not parse');
    const regions = [
      token.tstInfo,
      token.signer.signature,
      token.signer.signedAttributes.subarray(1),
    ];
    let tried = 0;
    for (const region of regions) {
      const start = der.indexOf(Buffer.from(region));
      expect(start).toBeGreaterThan(0);
      for (let offset = start; offset < start + region.length; offset++) {
        const mutated = Buffer.from(der);
        mutated[offset] = (mutated[offset] as number) ^ 0x01;
        let accepted = false;
        try {
          accepted = checkTimestampSignature(parseTimestampToken(mutated), [key]) === 0;
        } catch (error) {
          expect(error).toBeInstanceOf(TimestampFormatError);
        }
        expect(accepted, `byte ${offset} flipped`).toBe(false);
        tried += 1;
      }
    }
    expect(tried).toBeGreaterThan(300);
  });
});

describe('timestampRequest', () => {
  it('is a request OpenSSL answers, the nonce echoed and the imprint kept', async () => {
    const authority = authorityOf('ec');
    const imprint = randomBytes(32);
    const request = timestampRequest(imprint, Buffer.from('ffffffffffffffff', 'hex'));
    expect(request.nonce).toBe('7fffffffffffffff');
    const token = parseTimestampToken(tokenOf(await authority.reply(request.der)));
    expect(token.nonce).toBe(request.nonce);
    expect(Buffer.from(token.imprint).equals(imprint)).toBe(true);
    expect(token.certificateKeys.length).toBeGreaterThan(0);
  });

  it('refuses an imprint that is not SHA-256', () => {
    expect(() => timestampRequest(randomBytes(20), randomBytes(8))).toThrow(RangeError);
  });
});

describe('parseTimestampResponse', () => {
  it("reads a refusal's status and text", async () => {
    const authority = authorityOf('rsa');
    const refused = parseTimestampResponse(await authority.reply(Buffer.from('not a request')));
    expect(refused.status).toBe(2);
    expect(refused.token).toBeUndefined();
  });

  it('refuses what is not a response', () => {
    expect(() => parseTimestampResponse(randomBytes(40))).toThrow(TimestampFormatError);
    expect(() => parseTimestampToken(Buffer.from('3003020101', 'hex'))).toThrow(
      TimestampFormatError,
    );
  });
});

describe('oidText', () => {
  it('writes object identifiers in dotted form', () => {
    expect(oidText('2a864886f70d0109100104')).toBe('1.2.840.113549.1.9.16.1.4');
    expect(oidText('608648016503040201')).toBe('2.16.840.1.101.3.4.2.1');
  });
});

describe('receipts with a time-stamp anchor', () => {
  const fixture = makeFixture(1);
  const receipt = fixture.receipts[0] as Receipt;

  it.each(KEY_TYPES)(
    'verify with the %s authority pinned; the stamp dates the evidence',
    async (type) => {
      const authority = authorityOf(type);
      const token = tokenOf(await authority.stamp(imprintOf(receipt)));
      const stamped = parseReceipt(JSON.parse(JSON.stringify(stampedReceipt(receipt, token))));
      const trust = withAuthority(fixture.trust, pinned(authority));
      const verdict = verifyReceipt(stamped, trust, { requireAnchors: ['test-tsa'] });
      expect(verdict.verdict).toBe('VERIFIED');
      const fact = verdict.anchors[0];
      expect(fact?.kind).toBe('timestamp');
      expect(fact?.targetChainId).toBe('test-tsa');
      expect(fact?.operator).toBe('Test time service');
      const genTime = parseTimestampToken(token).genTime;
      expect(fact?.genTime).toBe(genTime);
      expect(fact?.anchoredAt).toBe(new Date(Date.parse(genTime) + 1000).toISOString());
      expect(verdict.facts?.earliestAnchor).toBe(fact?.anchoredAt);
      expect(verdict.checks.find((c) => c.step === 'anchor')?.detail).toContain(
        'time-stamped by test-tsa',
      );
    },
  );

  it('is UNTRUSTED when the authority is not pinned, or pinned with another key', async () => {
    const authority = authorityOf('rsa');
    const stamped = stampedReceipt(receipt, tokenOf(await authority.stamp(imprintOf(receipt))));
    const unpinned = verifyReceipt(stamped, fixture.trust);
    expect([unpinned.verdict, unpinned.code]).toEqual(['UNTRUSTED', 'ANCHOR_UNTRUSTED']);
    // Another key pinned under that name: the token's certificate shows a key not pinned.
    const otherKey = verifyReceipt(
      stamped,
      withAuthority(fixture.trust, pinned(authorityOf('ec'))),
    );
    expect([otherKey.verdict, otherKey.code]).toEqual(['UNTRUSTED', 'ANCHOR_UNTRUSTED']);
    // A key of the same algorithm pinned, no certificate in the token: a signature that fails.
    const other = await createTsaAuthority('rsa');
    try {
      const bare = stampedReceipt(
        receipt,
        tokenOf(await other.stamp(imprintOf(receipt), { certReq: false })),
      );
      const forged = verifyReceipt(bare, withAuthority(fixture.trust, pinned(authority)));
      expect([forged.verdict, forged.code]).toEqual(['PROOF_INVALID', 'ANCHOR_PROOF_INVALID']);
    } finally {
      await other.remove();
    }
  });

  it('fails on a stamp of another hash, and outside the pinned key window', async () => {
    const authority = authorityOf('ec');
    const trust = withAuthority(fixture.trust, pinned(authority));
    const elsewhere = stampedReceipt(
      receipt,
      tokenOf(await authority.stamp(randomBytes(32).toString('hex'))),
    );
    const mismatch = verifyReceipt(elsewhere, trust);
    expect([mismatch.verdict, mismatch.code]).toEqual(['PROOF_INVALID', 'ANCHOR_HASH_MISMATCH']);
    const stamped = stampedReceipt(receipt, tokenOf(await authority.stamp(imprintOf(receipt))));
    const expired = verifyReceipt(
      stamped,
      withAuthority(
        fixture.trust,
        pinned(authority, 'test-tsa', { notAfter: '2020-01-01T00:00:00Z' }),
      ),
    );
    expect([expired.verdict, expired.code]).toEqual(['UNTRUSTED', 'ANCHOR_UNTRUSTED']);
    const corrupt = {
      ...stamped,
      anchors: [{ ...(stamped.anchors?.[0] as TimestampAnchorProof), token: 'AAAA' }],
    };
    const unreadable = verifyReceipt(corrupt, trust);
    expect([unreadable.verdict, unreadable.code]).toEqual([
      'PROOF_INVALID',
      'ANCHOR_PROOF_INVALID',
    ]);
  });

  it('accepts only the policies the trust file names for the authority, when it names some', async () => {
    const authority = authorityOf('ec');
    const stamped = stampedReceipt(receipt, tokenOf(await authority.stamp(imprintOf(receipt))));
    const withPolicies = (policies: string[]) =>
      withAuthority(fixture.trust, { ...pinned(authority), policies });
    expect(verifyReceipt(stamped, withPolicies([TSA_DEFAULT_POLICY])).verdict).toBe('VERIFIED');
    const other = verifyReceipt(stamped, withPolicies([TSA_OTHER_POLICY]));
    expect([other.verdict, other.code]).toEqual(['UNTRUSTED', 'ANCHOR_UNTRUSTED']);
    expect(other.checks.find((c) => c.step === 'anchor')?.detail).toContain(TSA_DEFAULT_POLICY);
  });

  it('refuses policies on an entry that is not a time-stamp authority, and malformed ones', () => {
    const chain = fixture.trust.chains[0];
    const problems = (value: unknown) => {
      try {
        parseTrustFile(value);
      } catch (error) {
        return (error as { fields?: Array<{ path: string; rule: string }> }).fields;
      }
      return undefined;
    };
    expect(problems({ ...fixture.trust, chains: [{ ...chain, policies: ['1.2.3'] }] })).toEqual([
      expect.objectContaining({ path: '/chains/0/policies', rule: 'kind' }),
    ]);
    expect(
      problems({
        ...fixture.trust,
        chains: [{ ...pinned(authorityOf('ec')), policies: ['1.2.x', '1.02'] }],
      })?.map((f) => f.path),
    ).toEqual(['/chains/0/policies/0', '/chains/0/policies/1']);
  });

  it('dates a block whose node key was later marked compromised', async () => {
    const authority = authorityOf('rsa');
    const stamped = stampedReceipt(receipt, tokenOf(await authority.stamp(imprintOf(receipt))));
    const mark = (since: string): TrustFile =>
      withAuthority(
        {
          ...fixture.trust,
          chains: fixture.trust.chains.map((chain) => ({
            ...chain,
            keys: chain.keys.map((key) => ({ ...key, compromisedSince: since })),
          })),
        },
        pinned(authority),
      );
    const later = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const dated = verifyReceipt(stamped, mark(later));
    expect(dated.verdict).toBe('VERIFIED');
    expect(dated.facts?.existedBy).toBe(dated.anchors[0]?.anchoredAt);
    const before = verifyReceipt(stamped, mark('2020-01-01T00:00:00Z'));
    expect([before.verdict, before.code]).toEqual(['UNTRUSTED', 'KEY_COMPROMISED']);
  });
});

const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
const algorithm = (hex: string) => der(0x30, oid(hex));

/**
 * An RFC 3161 token as RFC 5652 lays it out, signed with SM2 and SM3 by `key` (OpenSSL 3.0's
 * `ts -reply` cannot sign with SM2): what a GM time-stamp authority issuing RFC 3161 tokens gives.
 */
function sm2Token(
  key: NodeKey,
  imprint: Buffer,
  digest: string = OID.sm3,
  genTime = '20261129043000.25Z',
): Buffer {
  const tstInfo = der(
    0x30,
    der(0x02, Buffer.of(1)),
    oid('2a0304'),
    der(0x30, algorithm(OID.sha256), der(0x04, imprint)),
    der(0x02, Buffer.of(0x2a)),
    der(0x18, Buffer.from(genTime, 'latin1')),
  );
  const attributes = [
    der(0x30, oid(OID.contentTypeAttribute), der(0x31, oid(OID.tstInfo))),
    der(
      0x30,
      oid(OID.messageDigestAttribute),
      der(
        0x31,
        der(
          0x04,
          createHash(digest === OID.sm3 ? 'sm3' : 'sha256')
            .update(tstInfo)
            .digest(),
        ),
      ),
    ),
  ];
  const signature = Buffer.from(key.sign(der(0x31, ...attributes)), 'base64');
  const signer = der(
    0x30,
    der(0x02, Buffer.of(3)),
    der(0x80, Buffer.alloc(20, 7)),
    algorithm(digest),
    der(0xa0, ...attributes),
    algorithm(OID.sm2WithSm3),
    der(0x04, signature),
  );
  const signedData = der(
    0x30,
    der(0x02, Buffer.of(3)),
    der(0x31, algorithm(digest)),
    der(0x30, oid(OID.tstInfo), der(0xa0, der(0x04, tstInfo))),
    der(0x31, signer),
  );
  return der(0x30, oid(OID.signedData), der(0xa0, signedData));
}

describe('SM2 tokens (GB/T 32918 with SM3)', () => {
  const key = makeNodeKey('sm2-sm3');
  const publicKey = key.spki.toString('base64');

  it('verify under the SM2 key; OpenSSL agrees on the signature over the signed attributes', () => {
    const imprint = randomBytes(32);
    const token = parseTimestampToken(sm2Token(key, imprint));
    expect(token.genTime).toBe('2026-11-29T04:30:00.250Z');
    expect(token.serialNumber).toBe('2a');
    expect(token.certificateKeys).toEqual([]);
    const signature = Buffer.from(token.signer.signature).toString('base64');
    expect(opensslVerifiesSm2(token.signer.signedAttributes, signature, publicKey)).toBe(true);
    const pinned = publicKeyFromSpki(publicKey);
    if (!pinned) throw new Error('SM2 key does not parse');
    const other = publicKeyFromSpki(makeNodeKey('sm2-sm3').spki.toString('base64'));
    if (!other) throw new Error('SM2 key does not parse');
    expect(checkTimestampSignature(token, [other])).toBe('SIGNATURE');
    expect(checkTimestampSignature(token, [other, pinned])).toBe(1);
  });

  it('read genTime to the millisecond, a finer fraction rounded up, and refuse invalid times', () => {
    const timeOf = (genTime: string) =>
      parseTimestampToken(sm2Token(key, randomBytes(32), OID.sm3, genTime)).genTime;
    expect(timeOf('20261129043000Z')).toBe('2026-11-29T04:30:00.000Z');
    expect(timeOf('20261129043000.5Z')).toBe('2026-11-29T04:30:00.500Z');
    expect(timeOf('20261129043000.2501Z')).toBe('2026-11-29T04:30:00.251Z');
    expect(timeOf('20261231235959.9999Z')).toBe('2027-01-01T00:00:00.000Z');
    for (const bad of [
      '20261129043000.50Z',
      '20261329043000Z',
      '20260230043000Z',
      '202611290430Z',
    ]) {
      expect(() => timeOf(bad), bad).toThrow(TimestampFormatError);
    }
  });

  it('refuse SM2 with another digest than SM3, and a changed TSTInfo', () => {
    const pinned = publicKeyFromSpki(publicKey);
    if (!pinned) throw new Error('SM2 key does not parse');
    const withSha256 = parseTimestampToken(sm2Token(key, randomBytes(32), OID.sha256));
    expect(checkTimestampSignature(withSha256, [pinned])).toBe('ALGORITHM');
    const der = sm2Token(key, randomBytes(32));
    const at = der.indexOf(Buffer.from('20261129', 'latin1'));
    der[at + 3] = 0x37; // 2027
    expect(checkTimestampSignature(parseTimestampToken(der), [pinned])).toBe('MESSAGE_DIGEST');
  });

  it('date a receipt in core with the SM2 authority pinned', () => {
    const fixture = makeFixture(1);
    const receipt = fixture.receipts[0] as Receipt;
    const token = sm2Token(key, Buffer.from(imprintOf(receipt), 'hex'));
    const trust = withAuthority(fixture.trust, {
      kind: 'rfc3161',
      chainId: 'gm-tsa',
      keys: [{ keyId: key.keyId, algorithm: 'sm2-sm3', publicKey }],
    });
    const verdict = verifyReceipt(stampedReceipt(receipt, token, 'gm-tsa'), trust);
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors[0]).toMatchObject({
      kind: 'timestamp',
      genTime: '2026-11-29T04:30:00.250Z',
      anchoredAt: '2026-11-29T04:30:00.250Z',
      accuracyMs: 0,
    });
  });
});

describe('hostile tokens', () => {
  it('never do more than fail the anchor: truncations and random changes anywhere', async () => {
    const fixture = makeFixture(1);
    const receipt = fixture.receipts[0] as Receipt;
    const authority = authorityOf('rsa');
    const token = tokenOf(await authority.stamp(imprintOf(receipt)));
    const trust = withAuthority(fixture.trust, pinned(authority));
    const verdictOf = (der: Buffer) => verifyReceipt(stampedReceipt(receipt, der), trust);
    expect(verdictOf(token).verdict).toBe('VERIFIED');
    const outcomes = new Set<string>();
    const variants: Buffer[] = [];
    for (let length = 0; length < token.length; length += 7)
      variants.push(token.subarray(0, length));
    for (let i = 0; i < 1500; i++) {
      const mutated = Buffer.from(token);
      const changes = 1 + (i % 4);
      for (let c = 0; c < changes; c++) {
        mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
      }
      variants.push(mutated);
    }
    variants.push(
      Buffer.concat([token, Buffer.of(0)]),
      randomBytes(3000),
      Buffer.alloc(3000, 0x30),
    );
    for (const der of variants) {
      let thrown: unknown;
      try {
        parseTimestampToken(der);
      } catch (error) {
        thrown = error;
      }
      if (thrown !== undefined) expect(thrown).toBeInstanceOf(TimestampFormatError);
      const verdict = verdictOf(der);
      outcomes.add(`${verdict.verdict} ${verdict.code ?? ''}`);
      if (verdict.verdict === 'VERIFIED') {
        // A change the signature does not cover (the certificates carried): the same time stamp.
        expect(verdict.anchors[0]?.genTime).toBe(parseTimestampToken(token).genTime);
      }
    }
    expect(outcomes).toContain('PROOF_INVALID ANCHOR_PROOF_INVALID');
  });
});
