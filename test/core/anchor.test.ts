import { describe, expect, it } from 'vitest';
import {
  ANCHOR_CHECK_CODES,
  AnchorCheckError,
  checkAnchor,
  judgeAnchor,
  type AnchorInput,
  type AnchorProof,
  type AnchorRecord,
  type AnchorTip,
} from '../../core/anchor';
import { blockHash, type BlockHeader } from '../../core/block';
import { canonicalBytes } from '../../core/canonical';
import { digestBytes, formatDigest } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import { parseAnchorProof, parseReceipt, type Receipt } from '../../core/receipt';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { CHECK_CODES, verifyReceipt, type CheckCode, type Verdict } from '../../core/verify';
import {
  makeAnchorProof,
  makeAnchoredFixture,
  makeNodeKey,
  trustFor,
  type AnchoredFixture,
} from '../support/receipt-factory';

const TIME = '2026-11-28T10:00:00.000Z';
const COURT_TIME = '2026-11-28T10:10:00.000Z';
const fixture = makeAnchoredFixture(2, { time: TIME, courtTime: COURT_TIME, distance: 3 });

function receiptOf(f: AnchoredFixture, index = 0): Receipt {
  const receipt = f.receipts[index];
  if (!receipt) throw new Error(`no receipt ${index}`);
  return receipt;
}

function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function withAnchors(receipt: Receipt, anchors: readonly AnchorProof[]): Receipt {
  return { ...receipt, anchors };
}

function header(f: AnchoredFixture, number: number): BlockHeader {
  const found = f.chain.find((b) => b.header.number === number);
  if (!found) throw new Error(`no block ${number}`);
  return found.header;
}

/** A genuine court-signed anchor of `target` with the headers between the evidence block and it. */
function anchorOf(
  f: AnchoredFixture,
  target: { blockNumber: number; headerHash?: string; sourceChainId?: string },
  extra: {
    courtKey?: ReturnType<typeof makeNodeKey>;
    courtChainId?: string;
    headers?: BlockHeader[];
  } = {},
): AnchorProof {
  const headers =
    extra.headers ??
    f.chain
      .map((b) => b.header)
      .filter((h) => h.number > f.evidenceBlock && h.number <= target.blockNumber);
  return makeAnchorProof({
    sourceChainId: target.sourceChainId ?? 'test-chain',
    blockNumber: target.blockNumber,
    headerHash: (target.headerHash ??
      blockHash(header(f, target.blockNumber))) as AnchorInput['headerHash'],
    headers,
    courtKey: extra.courtKey ?? f.courtKey,
    courtChainId: extra.courtChainId ?? f.courtChainId,
    courtTime: COURT_TIME,
  });
}

/** Asserts a single, final failing check with a code that maps to the verdict; returns the code. */
function failureCode(verdict: Verdict): CheckCode {
  expect(verdict.verdict).not.toBe('VERIFIED');
  const code = verdict.code as CheckCode;
  expect(verdict.verdict).toBe(CHECK_CODES[code]);
  expect(verdict.checks[verdict.checks.length - 1]).toMatchObject({ status: 'fail', code });
  expect(verdict.checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  return code;
}

describe('verifyReceipt on anchored receipts', () => {
  it('verifies a genuine anchor with both chains pinned and reports the court chain and time', () => {
    const receipt = receiptOf(fixture);
    const verdict = verifyReceipt(asJson(receipt), fixture.trust, {
      fileDigests: digestBytes(fixture.files[0] as Buffer),
    });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.checks.map((c) => [c.step, c.status])).toEqual([
      ['receipt', 'pass'],
      ['digest', 'pass'],
      ['inclusion', 'pass'],
      ['transaction', 'pass'],
      ['block', 'pass'],
      ['signature', 'pass'],
      ['anchor', 'pass'],
    ]);
    expect(verdict.anchors).toEqual([
      {
        kind: 'chain',
        targetChainId: 'court-chain',
        anchoredAt: COURT_TIME,
        operator: 'Test court',
        targetBlockNumber: 3,
        txId: fixture.anchor.anchorTx.tx.txId,
        keyId: fixture.courtKey.keyId,
        sourceBlockNumber: fixture.evidenceBlock + 3,
      },
    ]);
    expect(verdict.facts?.earliestAnchor).toBe(COURT_TIME);
    expect(verdict.facts?.existedBy).toBe(TIME);
    expect(verdict.facts?.signer?.keyId).toBe(fixture.key.keyId);
  });

  it('builds a fixture whose evidence chain is genuinely hash-chained from block 0', () => {
    expect(fixture.chain.map((b) => b.header.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    fixture.chain.forEach((block, n) => {
      if (n > 0) expect(block.header.previousHash).toBe(blockHash(header(fixture, n - 1)));
    });
    expect(receiptOf(fixture).proof.block.header).toEqual(header(fixture, fixture.evidenceBlock));
  });

  it('verifies every receipt of the batch with the same anchor', () => {
    for (const receipt of fixture.receipts) {
      expect(verifyReceipt(asJson(receipt), fixture.trust).verdict).toBe('VERIFIED');
    }
  });

  it('verifies an anchor of the evidence block itself (no headers)', () => {
    const direct = makeAnchoredFixture(1, { distance: 0 });
    expect(direct.anchor.headers).toEqual([]);
    const verdict = verifyReceipt(asJson(receiptOf(direct)), direct.trust);
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors[0]?.sourceBlockNumber).toBe(direct.evidenceBlock);
  });

  it('verifies an anchor whose record carries a leaves root', () => {
    const target = fixture.evidenceBlock + 2;
    const proof = makeAnchorProof({
      sourceChainId: 'test-chain',
      blockNumber: target,
      headerHash: blockHash(header(fixture, target)),
      leavesRoot: formatDigest('sha256', Buffer.alloc(32, 7)),
      headers: fixture.anchor.headers.slice(0, 2),
      courtKey: fixture.courtKey,
    });
    const receipt = withAnchors(receiptOf(fixture), [proof]);
    expect(verifyReceipt(asJson(receipt), fixture.trust).verdict).toBe('VERIFIED');
  });

  it('gives earliestAnchor as the earliest of several anchors on several chains', () => {
    const secondKey = makeNodeKey();
    const second = makeAnchorProof({
      sourceChainId: 'test-chain',
      blockNumber: fixture.evidenceBlock + 1,
      headerHash: blockHash(header(fixture, fixture.evidenceBlock + 1)),
      headers: fixture.anchor.headers.slice(0, 1),
      courtKey: secondKey,
      courtChainId: 'notary-chain',
      courtTime: '2026-11-28T10:05:00.000Z',
    });
    const trust = mergeTrust(fixture.trust, trustFor('notary-chain', secondKey, 'Notary'));
    const receipt = withAnchors(receiptOf(fixture), [fixture.anchor, second]);
    const verdict = verifyReceipt(asJson(receipt), trust, {
      requireAnchors: ['court-chain', 'notary-chain'],
    });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors.map((a) => [a.targetChainId, a.operator])).toEqual([
      ['court-chain', 'Test court'],
      ['notary-chain', 'Notary'],
    ]);
    expect(verdict.facts?.earliestAnchor).toBe('2026-11-28T10:05:00.000Z');
    expect(verdict.checks.filter((c) => c.step === 'anchor')).toHaveLength(3);
  });
});

describe('verifyReceipt on tampered anchors', () => {
  it('gives ANCHOR_CHAIN_BROKEN for an altered intermediate header', () => {
    const receipt = asJson(receiptOf(fixture)) as unknown as {
      anchors: Array<{ headers: Array<{ time: string; dataHash: string }> }>;
    };
    const middle = receipt.anchors[0]!.headers[1]!;
    middle.time = '2026-11-28T10:00:01.500Z';
    const verdict = verifyReceipt(receipt, fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_CHAIN_BROKEN');
    expect(verdict.verdict).toBe('PROOF_INVALID');
    expect(verdict.checks.map((c) => c.step)).toEqual([
      'receipt',
      'digest',
      'inclusion',
      'transaction',
      'block',
      'signature',
      'anchor',
    ]);
    expect(verdict.anchors).toEqual([]);
  });

  it.each([
    ['a header dropped', (h: BlockHeader[]) => [h[0]!, h[2]!]],
    ['headers swapped', (h: BlockHeader[]) => [h[1]!, h[0]!, h[2]!]],
    [
      'a header from another chain',
      (h: BlockHeader[]) => [{ ...h[0]!, chainId: 'other' }, ...h.slice(1)],
    ],
    [
      'a header renumbered',
      (h: BlockHeader[]) => [{ ...h[0]!, number: h[0]!.number + 1 }, ...h.slice(1)],
    ],
  ])('gives ANCHOR_CHAIN_BROKEN for %s', (_what, change) => {
    const anchor = { ...fixture.anchor, headers: change([...fixture.anchor.headers]) };
    const verdict = verifyReceipt(asJson(withAnchors(receiptOf(fixture), [anchor])), fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_CHAIN_BROKEN');
  });

  it('gives ANCHOR_HASH_MISMATCH for a genuine anchor record naming another hash', () => {
    const target = fixture.evidenceBlock + 3;
    const other = formatDigest('sha256', Buffer.alloc(32, 1));
    const proof = anchorOf(fixture, { blockNumber: target, headerHash: other });
    const verdict = verifyReceipt(asJson(withAnchors(receiptOf(fixture), [proof])), fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_HASH_MISMATCH');
    expect(verdict.verdict).toBe('PROOF_INVALID');
  });

  it('gives ANCHOR_HASH_MISMATCH for an anchor of another chain or past the headers', () => {
    const target = fixture.evidenceBlock + 3;
    const otherChain = anchorOf(fixture, { blockNumber: target, sourceChainId: 'other-chain' });
    expect(
      failureCode(verifyReceipt(withAnchors(receiptOf(fixture), [otherChain]), fixture.trust)),
    ).toBe('ANCHOR_HASH_MISMATCH');
    const short = anchorOf(
      fixture,
      { blockNumber: target },
      { headers: fixture.anchor.headers.slice(0, 2) },
    );
    expect(
      failureCode(verifyReceipt(withAnchors(receiptOf(fixture), [short]), fixture.trust)),
    ).toBe('ANCHOR_HASH_MISMATCH');
  });

  it('gives ANCHOR_UNTRUSTED for a target block signed by a key not in the trust file', () => {
    const stranger = makeNodeKey();
    const proof = anchorOf(
      fixture,
      { blockNumber: fixture.evidenceBlock + 3 },
      { courtKey: stranger },
    );
    const verdict = verifyReceipt(asJson(withAnchors(receiptOf(fixture), [proof])), fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_UNTRUSTED');
    expect(verdict.verdict).toBe('UNTRUSTED');
  });

  it('gives ANCHOR_UNTRUSTED when the trust file does not pin the court chain', () => {
    const verdict = verifyReceipt(asJson(receiptOf(fixture)), fixture.evidenceTrust);
    expect(failureCode(verdict)).toBe('ANCHOR_UNTRUSTED');
  });

  it('gives ANCHOR_UNTRUSTED when the court key was not valid at the court block time', () => {
    const court = fixture.courtTrust.chains[0]!;
    const expired: TrustFile = mergeTrust(fixture.evidenceTrust, {
      ...fixture.courtTrust,
      chains: [{ ...court, keys: [{ ...court.keys[0]!, notAfter: '2026-11-28T10:09:59.999Z' }] }],
    });
    expect(failureCode(verifyReceipt(asJson(receiptOf(fixture)), expired))).toBe(
      'ANCHOR_UNTRUSTED',
    );
  });

  it('gives ANCHOR_UNTRUSTED for an anchor on the evidence chain itself', () => {
    const proof = anchorOf(
      fixture,
      { blockNumber: fixture.evidenceBlock + 3 },
      { courtKey: fixture.key, courtChainId: 'test-chain' },
    );
    const verdict = verifyReceipt(asJson(withAnchors(receiptOf(fixture), [proof])), fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_UNTRUSTED');
  });

  it('gives ANCHOR_NOT_DESCENDANT for a genuine anchor of a block before the evidence block', () => {
    const earlier = fixture.evidenceBlock - 1;
    const proof = anchorOf(fixture, { blockNumber: earlier }, { headers: [] });
    const verdict = verifyReceipt(asJson(withAnchors(receiptOf(fixture), [proof])), fixture.trust);
    expect(failureCode(verdict)).toBe('ANCHOR_NOT_DESCENDANT');
    expect(verdict.verdict).toBe('PROOF_INVALID');
  });

  it('gives ANCHOR_PROOF_INVALID for a court signature with one flipped bit', () => {
    const receipt = asJson(receiptOf(fixture)) as unknown as {
      anchors: Array<{ anchorTx: { block: { signature: { value: string } } } }>;
    };
    const signature = receipt.anchors[0]!.anchorTx.block.signature;
    const bytes = Buffer.from(signature.value, 'base64');
    bytes[5] = (bytes[5] as number) ^ 0x10;
    signature.value = bytes.toString('base64');
    expect(failureCode(verifyReceipt(receipt, fixture.trust))).toBe('ANCHOR_PROOF_INVALID');
  });

  it('gives ANCHOR_PROOF_INVALID for a result that is not the one the transaction committed', () => {
    const proof = asJson(fixture.anchor) as {
      anchorTx: { result: { anchor: { anchoredBy: { account: string } } } };
    };
    proof.anchorTx.result.anchor.anchoredBy.account = 'someone-else';
    const verdict = verifyReceipt(
      withAnchors(receiptOf(fixture), [proof as unknown as AnchorProof]),
      fixture.trust,
    );
    expect(failureCode(verdict)).toBe('ANCHOR_PROOF_INVALID');
  });

  it('fails the whole verdict when one of two anchors is bad, listing the good one', () => {
    const stranger = makeNodeKey();
    const bad = anchorOf(
      fixture,
      { blockNumber: fixture.evidenceBlock + 3 },
      { courtKey: stranger, courtChainId: 'notary-chain' },
    );
    const trust = mergeTrust(fixture.trust, trustFor('notary-chain', makeNodeKey()));
    const verdict = verifyReceipt(
      asJson(withAnchors(receiptOf(fixture), [fixture.anchor, bad])),
      trust,
    );
    expect(failureCode(verdict)).toBe('ANCHOR_UNTRUSTED');
    expect(verdict.anchors.map((a) => a.targetChainId)).toEqual(['court-chain']);
    expect(verdict.facts?.earliestAnchor).toBeUndefined();
  });

  it('refuses the same anchor twice and more than 16 anchors as malformed', () => {
    const twice = withAnchors(receiptOf(fixture), [fixture.anchor, fixture.anchor]);
    expect(failureCode(verifyReceipt(asJson(twice), fixture.trust))).toBe('RECEIPT_MALFORMED');
    const many = Array.from({ length: 17 }, () =>
      anchorOf(fixture, { blockNumber: fixture.evidenceBlock + 3 }),
    );
    expect(failureCode(verifyReceipt(withAnchors(receiptOf(fixture), many), fixture.trust))).toBe(
      'RECEIPT_MALFORMED',
    );
  });

  it('refuses a proof whose result is not "recorded" as malformed', () => {
    const proof = asJson(fixture.anchor) as unknown as { anchorTx: { result: { status: string } } };
    proof.anchorTx.result.status = 'existing';
    const verdict = verifyReceipt(
      withAnchors(receiptOf(fixture), [proof as unknown as AnchorProof]),
      fixture.trust,
    );
    expect(failureCode(verdict)).toBe('RECEIPT_MALFORMED');
    expect(verdict.checks[0]?.detail).toContain('/anchors/0/anchorTx/result/status');
  });
});

describe('verifyReceipt with requireAnchors', () => {
  const plain = fixture.plain[0] as Receipt;

  it('verifies a receipt without anchors when anchors are not required', () => {
    for (const requireAnchors of [undefined, false, []] as const) {
      const verdict = verifyReceipt(asJson(plain), fixture.evidenceTrust, { requireAnchors });
      expect(verdict.verdict).toBe('VERIFIED');
      expect(verdict.checks.some((c) => c.step === 'anchor')).toBe(false);
      expect(verdict.anchors).toEqual([]);
      expect(verdict.facts?.earliestAnchor).toBeUndefined();
    }
  });

  it('gives UNTRUSTED (ANCHOR_REQUIRED) for a receipt without anchors when one is required', () => {
    const verdict = verifyReceipt(asJson(plain), fixture.trust, { requireAnchors: true });
    expect(failureCode(verdict)).toBe('ANCHOR_REQUIRED');
    expect(verdict.verdict).toBe('UNTRUSTED');
  });

  it('requires a valid anchor on each named chain', () => {
    const receipt = asJson(receiptOf(fixture));
    expect(verifyReceipt(receipt, fixture.trust, { requireAnchors: true }).verdict).toBe(
      'VERIFIED',
    );
    expect(verifyReceipt(receipt, fixture.trust, { requireAnchors: ['court-chain'] }).verdict).toBe(
      'VERIFIED',
    );
    const missing = verifyReceipt(receipt, fixture.trust, {
      requireAnchors: ['court-chain', 'notary-chain'],
    });
    expect(failureCode(missing)).toBe('ANCHOR_REQUIRED');
    expect(missing.checks[missing.checks.length - 1]?.detail).toContain('notary-chain');
    expect(missing.anchors).toHaveLength(1);
  });

  it('does not let a required anchor be satisfied by a bad one', () => {
    const stranger = makeNodeKey();
    const bad = anchorOf(
      fixture,
      { blockNumber: fixture.evidenceBlock + 3 },
      { courtKey: stranger },
    );
    const verdict = verifyReceipt(withAnchors(plain, [bad]), fixture.trust, {
      requireAnchors: ['court-chain'],
    });
    expect(failureCode(verdict)).toBe('ANCHOR_UNTRUSTED');
  });
});

describe('checkAnchor', () => {
  it('returns the anchor facts for a genuine proof', () => {
    const fact = checkAnchor(
      parseReceipt(asJson(receiptOf(fixture))),
      fixture.anchor,
      fixture.trust,
    );
    expect(fact).toMatchObject({
      targetChainId: 'court-chain',
      anchoredAt: COURT_TIME,
      operator: 'Test court',
    });
  });

  it('throws AnchorCheckError with a stable code, and every check code maps to a verdict', () => {
    const stranger = makeNodeKey();
    const proof = anchorOf(
      fixture,
      { blockNumber: fixture.evidenceBlock + 3 },
      { courtKey: stranger },
    );
    try {
      checkAnchor(receiptOf(fixture), proof, fixture.trust);
      expect.fail('accepted an untrusted anchor');
    } catch (error) {
      expect(error).toBeInstanceOf(AnchorCheckError);
      expect((error as AnchorCheckError).code).toBe('ANCHOR_UNTRUSTED');
    }
    for (const code of ANCHOR_CHECK_CODES) expect(CHECK_CODES[code]).toBeDefined();
  });

  it('grows by one block header per block of distance', () => {
    const near = makeAnchoredFixture(1, { distance: 1 });
    const far = makeAnchoredFixture(1, { distance: 101 });
    const size = (f: AnchoredFixture) => canonicalBytes(receiptOf(f)).length;
    const perHeader = (size(far) - size(near)) / 100;
    const oneHeader = canonicalBytes(far.anchor.headers[0]).length;
    expect(perHeader).toBeGreaterThanOrEqual(oneHeader);
    expect(perHeader).toBeLessThanOrEqual(oneHeader + 4);
    expect(oneHeader).toBeLessThan(300);
    expect(verifyReceipt(asJson(receiptOf(far)), far.trust).verdict).toBe('VERIFIED');
  });
});

describe('parseAnchorProof', () => {
  it('accepts a genuine proof and names every bad field of a broken one', () => {
    expect(parseAnchorProof(asJson(fixture.anchor))).toEqual(fixture.anchor);
    try {
      parseAnchorProof({ ...fixture.anchor, kind: 'fabric', extra: 1 });
      expect.fail('accepted a bad proof');
    } catch (error) {
      expect(isEvidenceError(error) && error.code).toBe('RECEIPT_MALFORMED');
      const paths = (isEvidenceError(error) ? (error.fields ?? []) : []).map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['/kind', '/extra']));
    }
  });
});

describe('judgeAnchor', () => {
  const hash = (n: number) => formatDigest('sha256', Buffer.alloc(32, n));
  const input = (blockNumber: number, h = hash(blockNumber)): AnchorInput => ({
    sourceChainId: 'evidence-1',
    blockNumber,
    headerHash: h,
  });
  const record = (
    blockNumber: number,
    h = hash(blockNumber),
    leavesRoot?: string,
  ): AnchorRecord => ({
    type: 'anchor',
    ...input(blockNumber, h),
    ...(leavesRoot ? { leavesRoot: leavesRoot as AnchorRecord['headerHash'] } : {}),
    anchoredBy: { org: 'CourtOrg', account: 'job' },
    txId: 'a'.repeat(64),
    time: TIME,
  });
  const tip = (blockNumber: number): AnchorTip => ({
    type: 'anchor-tip',
    sourceChainId: 'evidence-1',
    blockNumber,
    headerHash: hash(blockNumber),
    txId: 'b'.repeat(64),
    time: TIME,
    anchors: 2,
    forks: 0,
  });

  it('records the first anchor and anchors above the tip', () => {
    expect(judgeAnchor(input(0), undefined, undefined)).toEqual({ outcome: 'record' });
    expect(judgeAnchor(input(11), undefined, tip(10))).toEqual({ outcome: 'record' });
  });

  it('treats the identical anchor as existing, even below the tip', () => {
    const on = record(5);
    expect(judgeAnchor(input(5), on, tip(10))).toEqual({ outcome: 'existing', anchor: on });
    const withRoot = record(5, hash(5), hash(99));
    expect(judgeAnchor({ ...input(5), leavesRoot: hash(99) }, withRoot, tip(10)).outcome).toBe(
      'existing',
    );
  });

  it('rejects another hash, or another leaves root, for a block on record as ANCHOR_CONFLICT', () => {
    const judged = judgeAnchor(input(10, hash(77)), record(10), tip(10));
    expect(judged).toMatchObject({
      outcome: 'reject',
      code: 'ANCHOR_CONFLICT',
      recorded: { blockNumber: 10, headerHash: hash(10) },
    });
    const roots = judgeAnchor(
      { ...input(10), leavesRoot: hash(1) },
      record(10, hash(10), hash(2)),
      tip(10),
    );
    expect(roots).toMatchObject({ outcome: 'reject', code: 'ANCHOR_CONFLICT' });
  });

  it('rejects a block below the latest anchor as ANCHOR_REGRESSION', () => {
    expect(judgeAnchor(input(9), undefined, tip(10))).toMatchObject({
      outcome: 'reject',
      code: 'ANCHOR_REGRESSION',
      recorded: { blockNumber: 10, headerHash: hash(10) },
    });
  });
});
