/**
 * The anchoring job on its own: when it anchors (interval, block threshold, a tip that did not
 * move), how it backs off, what it accepts from a target, and how it pins a target's trust.
 * A fake clock, an in-memory store and a target that answers genuine court-signed proofs.
 */

import { describe, expect, it } from 'vitest';
import type { AnchorInput } from '../../core/anchor';
import { formatDigest, type Digest } from '../../core/digest';
import { LedgerError, isEvidenceError } from '../../core/errors';
import type { TrustFile } from '../../core/trust';
import {
  backoffDelay,
  checkSubmitted,
  createAnchorJob,
  pinTrust,
  type AnchorJob,
  type JobLogger,
} from '../../gateway/anchoring/anchor-job';
import type { AnchorStore, StoredAnchor } from '../../gateway/anchoring/anchor-store';
import type { AnchorTarget, SubmittedAnchor } from '../../gateway/anchoring/target';
import { makeAnchorProof, makeNodeKey, trustFor } from '../support/receipt-factory';
import { tipLedger } from './helpers';

const SOURCE = 'evidence-chain';
const courtKey = makeNodeKey();
const courtTrust = trustFor('court-chain', courtKey, 'Court');
const hashOf = (n: number): Digest => formatDigest('sha256', Buffer.alloc(32, n + 1));

function submittedFor(input: AnchorInput, key = courtKey): SubmittedAnchor {
  const proof = makeAnchorProof({ ...input, headers: [], courtKey: key });
  return { kind: 'chain', anchor: proof.anchorTx.result.anchor, proof: proof.anchorTx };
}

class FakeTarget implements AnchorTarget {
  readonly name = 'court';
  readonly kind = 'fake';
  readonly inputs: AnchorInput[] = [];
  down = false;
  trustCalls = 0;
  async trust(): Promise<TrustFile> {
    this.trustCalls += 1;
    if (this.down) throw new LedgerError('LEDGER_UNAVAILABLE', 'down');
    return courtTrust;
  }
  async submit(input: AnchorInput): Promise<SubmittedAnchor> {
    if (this.down) throw new LedgerError('LEDGER_UNAVAILABLE', 'down');
    this.inputs.push(input);
    return submittedFor(input);
  }
}

class MemoryStore implements AnchorStore {
  readonly anchors: StoredAnchor[] = [];
  readonly trusts = new Map<string, TrustFile>();
  async put(entry: StoredAnchor) {
    this.anchors.push(entry);
  }
  async covering(target: string, n: number) {
    return this.anchors
      .filter((a) => a.target === target && a.anchor.blockNumber >= n)
      .sort((a, b) => a.anchor.blockNumber - b.anchor.blockNumber)[0];
  }
  async latest(target: string) {
    return this.anchors
      .filter((a) => a.target === target)
      .sort((a, b) => b.anchor.blockNumber - a.anchor.blockNumber)[0];
  }
  async trust(target: string) {
    return this.trusts.get(target);
  }
  async putTrust(target: string, trust: TrustFile) {
    this.trusts.set(target, trust);
  }
  async copyTo(): Promise<never> {
    throw new Error('the job never copies its store');
  }
  async close() {}
}

const silent: JobLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Harness {
  job: AnchorJob;
  target: FakeTarget;
  store: MemoryStore;
  clock: { now: number };
  tip: { number: number };
}

async function harness(
  options: { everyBlocks?: number; intervalMs?: number; downAtStart?: boolean } = {},
): Promise<Harness> {
  const clock = { now: Date.parse('2026-11-28T10:00:00.000Z') };
  const tip = { number: 3 };
  const ledger = tipLedger(SOURCE, tip, hashOf, () => clock.now);
  const target = new FakeTarget();
  target.down = options.downAtStart === true;
  const store = new MemoryStore();
  const job = createAnchorJob({
    ledger,
    store,
    targets: [target],
    intervalMs: options.intervalMs ?? 60_000,
    everyBlocks: options.everyBlocks ?? 5,
    backoffMinMs: 1_000,
    backoffMaxMs: 8_000,
    logger: silent,
    manual: true,
    now: () => clock.now,
    random: () => 1,
  });
  await job.start();
  return { job, target, store, clock, tip };
}

describe('backoffDelay', () => {
  it('doubles from the minimum up to the maximum, with half of it random', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, 1000, 8000, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 8000, () => 0))).toEqual([
      500, 1000, 2000, 4000,
    ]);
    expect(backoffDelay(10_000, 1000, 8000, () => 0.5)).toBe(6000);
  });
});

describe('the anchoring job', () => {
  it('anchors the tip at once, then only when the tip moved by everyBlocks or the interval passed', async () => {
    const h = await harness();
    await h.job.runOnce();
    expect(h.target.inputs).toEqual([
      { sourceChainId: SOURCE, blockNumber: 3, headerHash: hashOf(3) },
    ]);
    await h.job.runOnce();
    expect(h.target.inputs).toHaveLength(1); // the tip has not moved
    h.tip.number = 6;
    await h.job.runOnce();
    expect(h.target.inputs).toHaveLength(1); // 3 blocks, 0 s: not yet
    h.tip.number = 8;
    await h.job.runOnce();
    expect(h.target.inputs.map((i) => i.blockNumber)).toEqual([3, 8]); // 5 blocks
    h.tip.number = 9;
    h.clock.now += 60_000;
    await h.job.runOnce();
    expect(h.target.inputs.map((i) => i.blockNumber)).toEqual([3, 8, 9]); // the interval
    expect(h.store.anchors.map((a) => [a.target, a.targetChainId, a.anchor.blockNumber])).toEqual([
      ['court', 'court-chain', 3],
      ['court', 'court-chain', 8],
      ['court', 'court-chain', 9],
    ]);
    const status = await h.job.status();
    expect(status.targets[0]).toMatchObject({
      lastAnchoredBlock: 9,
      blocksBehind: 0,
      ageSeconds: 0,
      consecutiveFailures: 0,
      trustPinned: true,
    });
    await h.job.close();
  });

  it('backs off exponentially while a target is down and retries when the delay has passed', async () => {
    const h = await harness();
    await h.job.runOnce();
    h.target.down = true;
    h.tip.number = 10;
    await h.job.runOnce();
    let status = (await h.job.status()).targets[0];
    expect(status).toMatchObject({
      consecutiveFailures: 1,
      lastErrorCode: 'LEDGER_UNAVAILABLE',
      lastAnchoredBlock: 3,
      blocksBehind: 7,
      nextAttemptAt: new Date(h.clock.now + 1000).toISOString(),
    });
    await h.job.runOnce(); // within the backoff: no attempt
    expect((await h.job.status()).targets[0]?.consecutiveFailures).toBe(1);
    h.clock.now += 1000;
    await h.job.runOnce();
    status = (await h.job.status()).targets[0];
    expect(status).toMatchObject({
      consecutiveFailures: 2,
      nextAttemptAt: new Date(h.clock.now + 2000).toISOString(),
    });
    h.target.down = false;
    h.tip.number = 12;
    h.clock.now += 2000;
    await h.job.runOnce();
    status = (await h.job.status()).targets[0];
    expect(status).toMatchObject({
      consecutiveFailures: 0,
      lastAnchoredBlock: 12,
      nextAttemptAt: null,
    });
    // The anchor after the outage is the tip then: its header chain covers blocks 4..12.
    expect(h.target.inputs.map((i) => i.blockNumber)).toEqual([3, 12]);
    await h.job.close();
  });

  it('pins the trust of a target that was down at start before its first anchor', async () => {
    const h = await harness({ downAtStart: true });
    expect(h.target.trustCalls).toBe(1);
    expect((await h.job.status()).targets[0]?.trustPinned).toBe(false);
    await h.job.runOnce();
    expect((await h.job.status()).targets[0]).toMatchObject({
      trustPinned: false,
      consecutiveFailures: 1,
      lastErrorCode: 'LEDGER_UNAVAILABLE',
    });
    h.target.down = false;
    h.clock.now += 1000;
    await h.job.runOnce();
    expect((await h.job.status()).targets[0]).toMatchObject({
      trustPinned: true,
      consecutiveFailures: 0,
      lastAnchoredBlock: 3,
    });
    expect(h.store.trusts.get('court')).toEqual(courtTrust);
    await h.job.close();
  });

  it('fetches the trust file again when a target signs with a key it rotated to, and pins it', async () => {
    const h = await harness();
    expect(h.target.trustCalls).toBe(1);
    const rotatedKey = makeNodeKey();
    const rotatedTrust = trustFor('court-chain', rotatedKey, 'Court');
    h.target.trust = async () => {
      h.target.trustCalls += 1;
      return rotatedTrust;
    };
    h.target.submit = async (input) => submittedFor(input, rotatedKey);
    await h.job.runOnce();
    expect(h.target.trustCalls).toBe(2);
    expect(h.store.anchors).toHaveLength(1);
    // The old key stays pinned beside the new one: anchors it signed keep verifying.
    expect(h.store.trusts.get('court')?.chains[0]?.keys.map((k) => k.keyId)).toEqual([
      courtKey.keyId,
      rotatedKey.keyId,
    ]);
    await h.job.close();
  });

  it('stores nothing a target answers that does not check out', async () => {
    const h = await harness();
    h.target.submit = async (input) => submittedFor(input, makeNodeKey());
    await h.job.runOnce();
    expect(h.store.anchors).toHaveLength(0);
    expect((await h.job.status()).targets[0]?.lastErrorCode).toBe('ANCHOR_UNTRUSTED');
    await h.job.close();
  });

  it('leaves no timer behind when closed', async () => {
    const live = new Set<ReturnType<typeof setTimeout>>();
    let created = 0;
    const timers = {
      setTimeout: (callback: () => void, ms: number) => {
        created++;
        const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
          live.delete(timer);
          callback();
        }, ms);
        live.add(timer);
        return timer;
      },
      clearTimeout: (timer: ReturnType<typeof setTimeout>) => {
        live.delete(timer);
        clearTimeout(timer);
      },
    };
    const ledger = tipLedger(SOURCE, { number: 0 }, hashOf);
    const job = createAnchorJob({
      ledger,
      store: new MemoryStore(),
      targets: [new FakeTarget()],
      intervalMs: 100,
      everyBlocks: 1,
      backoffMinMs: 10,
      backoffMaxMs: 20,
      logger: silent,
      timers,
    });
    await job.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await job.close();
    await job.close();
    expect(created).toBeGreaterThan(0);
    expect(live.size).toBe(0);
  });
});

describe('checkSubmitted', () => {
  const input: AnchorInput = { sourceChainId: SOURCE, blockNumber: 7, headerHash: hashOf(7) };
  const codeOf = (submitted: SubmittedAnchor, trust: TrustFile = courtTrust): string => {
    try {
      checkSubmitted(input, submitted, trust);
      return 'accepted';
    } catch (error) {
      return isEvidenceError(error) ? error.code : String(error);
    }
  };

  it('accepts a genuine answer and refuses every tampered one with a code', () => {
    const good = submittedFor(input);
    expect(codeOf(good)).toBe('accepted');
    const other = submittedFor({ ...input, blockNumber: 8, headerHash: hashOf(8) });
    expect(codeOf(other)).toBe('ANCHOR_PROOF_INVALID');
    const tamperedResult = structuredClone(good) as {
      proof: { result: { anchor: { time: string } } };
    };
    tamperedResult.proof.result.anchor.time = '2020-01-01T00:00:00.000Z';
    expect(codeOf(tamperedResult as unknown as SubmittedAnchor)).toBe('ANCHOR_PROOF_INVALID');
    const movedTx = structuredClone(good) as { proof: { txIndex: number } };
    movedTx.proof.txIndex = 0;
    expect(codeOf(movedTx as unknown as SubmittedAnchor)).toBe('ANCHOR_PROOF_INVALID');
    const badSignature = structuredClone(good) as {
      proof: { block: { header: { time: string } } };
    };
    badSignature.proof.block.header.time = '2030-01-01T00:00:00.000Z';
    expect(codeOf(badSignature as unknown as SubmittedAnchor)).toBe('ANCHOR_PROOF_INVALID');
    expect(codeOf(submittedFor(input, makeNodeKey()))).toBe('ANCHOR_UNTRUSTED');
    expect(codeOf(good, trustFor('another-chain', courtKey))).toBe('ANCHOR_UNTRUSTED');
  });
});

describe('pinTrust', () => {
  it('adds chains and keys and never drops a pinned key', () => {
    const first = pinTrust(undefined, courtTrust);
    expect(first).toEqual({ trust: courtTrust, rotated: false });
    const rotatedKey = makeNodeKey();
    const next = pinTrust(first.trust, trustFor('court-chain', rotatedKey, 'Court'));
    expect(next.rotated).toBe(true);
    expect(next.trust.chains[0]?.keys.map((k) => k.keyId)).toEqual([
      courtKey.keyId,
      rotatedKey.keyId,
    ]);
    expect(pinTrust(next.trust, courtTrust)).toEqual({ trust: next.trust, rotated: false });
  });
});
