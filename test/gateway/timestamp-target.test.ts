/**
 * The time-stamp target (a trusted authority, RFC 3161 over HTTP) and the anchoring job with it:
 * tokens come from a real authority (OpenSSL's `ts -reply`) through the target's own HTTP code
 * path, with the transport injected; anchors are kept in the real LevelDB anchor store.
 */

import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchorInput } from '../../core/anchor';
import { formatDigest } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import { authorityCertificate } from '../../core/timestamp-authority';
import {
  checkSubmitted,
  createAnchorJob,
  type JobLogger,
} from '../../gateway/anchoring/anchor-job';
import { openAnchorStore } from '../../gateway/anchoring/anchor-store';
import type { AnchorTarget, SubmittedTimestamp } from '../../gateway/anchoring/target';
import { createTimestampTarget } from '../../gateway/anchoring/timestamp-target';
import { createTsaAuthority, type TsaAuthority } from '../support/openssl-tsa';
import { tempDir, tipLedger } from './helpers';

const SOURCE = 'evidence-chain';
const silent: JobLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
let authority: TsaAuthority;
let other: TsaAuthority;

beforeAll(async () => {
  authority = await createTsaAuthority('rsa');
  other = await createTsaAuthority('ec');
}, 60_000);
afterAll(async () => {
  await authority.remove();
  await other.remove();
});

type Answer = (request: Buffer) => Promise<Response>;

const replyOf =
  (tsa: TsaAuthority): Answer =>
  async (request) =>
    new Response(new Uint8Array(await tsa.reply(request)), {
      status: 200,
      headers: { 'content-type': 'application/timestamp-reply' },
    });

/** A target named `test-tsa` pinned to `authority`, whose HTTP answers come from `answer`. */
function targetAnswering(answer: Answer): AnchorTarget {
  const fetcher = (async (_url: unknown, init?: RequestInit) =>
    answer(Buffer.from(init?.body as Uint8Array))) as typeof fetch;
  return createTimestampTarget(
    {
      name: 'test-tsa',
      kind: 'rfc3161',
      url: 'http://tsa.test/stamp',
      key: authorityCertificate(authority.certificatePem).key,
      operator: 'Test Time Service',
    },
    { timeoutMs: 5_000, fetch: fetcher },
  );
}

const input = (blockNumber: number): AnchorInput => ({
  sourceChainId: SOURCE,
  blockNumber,
  headerHash: formatDigest('sha256', Buffer.alloc(32, blockNumber + 1)),
});

async function codeOf(work: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await work();
  } catch (error) {
    if (isEvidenceError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the time-stamp target', () => {
  it("stamps the tip's hash; the answer passes the job's check against the pinned key", async () => {
    const target = targetAnswering(replyOf(authority));
    const submitted = (await target.submit(input(7))) as SubmittedTimestamp;
    expect(submitted.kind).toBe('timestamp');
    expect(submitted.anchor).toMatchObject({ sourceChainId: SOURCE, blockNumber: 7 });
    expect(Math.abs(Date.parse(submitted.anchor.time) - Date.now())).toBeLessThan(120_000);
    const trust = await target.trust();
    expect(trust.chains).toEqual([
      expect.objectContaining({ kind: 'rfc3161', chainId: 'test-tsa' }),
    ]);
    expect(() => checkSubmitted(input(7), submitted, trust)).not.toThrow();
  });

  it('refuses answers for another block, from another authority, or with a misstated time', async () => {
    const target = targetAnswering(replyOf(authority));
    const trust = await target.trust();
    const submitted = (await target.submit(input(7))) as SubmittedTimestamp;
    expect(await codeOf(() => checkSubmitted(input(8), submitted, trust))).toMatch(
      /^ANCHOR_PROOF_INVALID: .*another block/,
    );
    const moved = { ...submitted, anchor: { ...submitted.anchor, ...input(8) } };
    expect(await codeOf(() => checkSubmitted(input(8), moved, trust))).toMatch(
      /^ANCHOR_HASH_MISMATCH/,
    );
    const misdated = {
      ...submitted,
      anchor: { ...submitted.anchor, time: '2020-01-01T00:00:00.000Z' },
    };
    expect(await codeOf(() => checkSubmitted(input(7), misdated, trust))).toMatch(
      /^ANCHOR_PROOF_INVALID: .*time/,
    );
    const elsewhere = (await targetAnswering(replyOf(other)).submit(
      input(7),
    )) as SubmittedTimestamp;
    expect(await codeOf(() => checkSubmitted(input(7), elsewhere, trust))).toMatch(
      /^ANCHOR_UNTRUSTED/,
    );
  });

  it('turns HTTP errors, refusals, garbage and replays into the job codes', async () => {
    const http500 = targetAnswering(async () => new Response('no', { status: 500 }));
    expect(await codeOf(() => http500.submit(input(1)))).toMatch(/^LEDGER_UNAVAILABLE/);
    const html = targetAnswering(
      async () =>
        new Response('<html/>', { status: 200, headers: { 'content-type': 'text/html' } }),
    );
    expect(await codeOf(() => html.submit(input(1)))).toMatch(
      /^ANCHOR_PROOF_INVALID: .*text\/html/,
    );
    const refusing = targetAnswering(async () => replyOf(authority)(Buffer.from('not a request')));
    expect(await codeOf(() => refusing.submit(input(1)))).toMatch(
      /^ANCHOR_PROOF_INVALID: .*did not stamp: rejection/,
    );
    // An answer recorded for an earlier request: another nonce (and another hash).
    let recorded: Response | undefined;
    const recorder = targetAnswering(async (request) => {
      recorded = await replyOf(authority)(request);
      return recorded.clone();
    });
    await recorder.submit(input(1));
    const replaying = targetAnswering(async () => (recorded as Response).clone());
    expect(await codeOf(() => replaying.submit(input(1)))).toMatch(
      /^ANCHOR_PROOF_INVALID: .*nonce/,
    );
    const unreachable = createTimestampTarget(
      {
        name: 'down',
        kind: 'rfc3161',
        url: 'http://127.0.0.1:1/',
        key: authorityCertificate(authority.certificatePem).key,
      },
      { timeoutMs: 2_000 },
    );
    expect(await codeOf(() => unreachable.submit(input(1)))).toMatch(/^LEDGER_UNAVAILABLE/);
  });
});

describe('the anchoring job with a time-stamp authority', () => {
  it('stamps the tip, keeps the token in the anchor store, and reports it', async () => {
    const dir = await tempDir();
    const tip = { number: 4 };
    const ledger = tipLedger(SOURCE, tip, (n) => input(n).headerHash);
    let store = await openAnchorStore(dir);
    try {
      const job = createAnchorJob({
        ledger,
        store,
        targets: [targetAnswering(replyOf(authority))],
        intervalMs: 60_000,
        everyBlocks: 2,
        backoffMinMs: 1_000,
        backoffMaxMs: 8_000,
        logger: silent,
        manual: true,
      });
      await job.start();
      await job.runOnce();
      tip.number = 6;
      await job.runOnce();
      const status = await job.status();
      expect(status.targets[0]).toMatchObject({
        name: 'test-tsa',
        kind: 'rfc3161',
        targetChainId: 'test-tsa',
        trustPinned: true,
        lastAnchoredBlock: 6,
        consecutiveFailures: 0,
      });
      await job.close();
      await store.close();
      store = await openAnchorStore(dir);
      const kept = await store.covering('test-tsa', 5);
      expect(kept).toMatchObject({ kind: 'timestamp', targetChainId: 'test-tsa' });
      expect(kept?.anchor.blockNumber).toBe(6);
      expect(status.targets[0]?.lastAnchoredAt).toBe(kept?.anchor.time);
      expect((await store.covering('test-tsa', 0))?.anchor.blockNumber).toBe(4);
      expect((await store.trust('test-tsa'))?.chains[0]?.kind).toBe('rfc3161');
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
