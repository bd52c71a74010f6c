/**
 * Verification figures: receipts verified per second in this process by core's `verifyReceipt`
 * (file digests given, so every step runs), against the Ed25519 signature checks per second that
 * dominate it; and the wall time of `evidence verify FILE --receipt R --trust T` for one receipt,
 * against `node -e ''` (the start-up any Node CLI pays).
 *
 * SM2 node keys (`sm2-sm3`), against Ed25519 in the same run: receipts verified per second, the
 * time to sign one block, and deposits per second in process with 32-record transactions (what
 * 64 connections of single deposits make, where a block's signature weighs most per deposit).
 *
 * Trusted time stamps: receipts carrying an RFC 3161 token of an RSA-2048 authority (OpenSSL's
 * `ts -reply`, the certificates included as most authorities send them) verified per second,
 * against the same receipt without it, in alternating rounds.
 */

import { randomBytes, verify as verifySignature } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TIMESTAMP_ANCHOR_KIND } from '../core/anchor';
import { blockHash, blockSigningBytes, type NodeKeyAlgorithm } from '../core/block';
import { digestBytes, type Digest } from '../core/digest';
import type { Receipt } from '../core/receipt';
import { publicKeyFromSpki } from '../core/signature';
import { parseTimestampResponse } from '../core/timestamp';
import { authorityCertificate } from '../core/timestamp-authority';
import { mergeTrust, parseTrustFile, TRUST_FILE_TYPE } from '../core/trust';
import { verifyReceipt } from '../core/verify';
import { createEvidenceService, type EvidenceService } from '../gateway/evidence-service';
import { openEmbeddedLedger } from '../gateway/ledger/embedded-ledger';
import { loadNodeKey } from '../gateway/ledger/embedded/node-key';
import { createTsaAuthority } from '../test/support/openssl-tsa';
import type { BenchConfig } from './config';
import { median, run } from './processes';
import { BENCH_PRINCIPAL, createItemSource, storeOver, type Store } from './workload';

export interface Sm2Figures {
  readonly receiptsPerSecond: number;
  readonly ed25519ReceiptsPerSecond: number;
  /** Median microseconds to sign one block header. */
  readonly signMicros: number;
  readonly ed25519SignMicros: number;
  /** In process, 32-record transactions one after another, alternating rounds; medians. */
  readonly smallBatchDigestsPerSecond: number;
  readonly ed25519SmallBatchDigestsPerSecond: number;
}

/**
 * Receipts given later for deposits acknowledged without them (`?receipts=none`), in process
 * through the evidence service: by transaction (`GET /v1/transactions/:txId/receipts`) against
 * one digest at a time (`GET /v1/evidence/:digest/receipt`); alternating rounds, medians. Later
 * means from a service that has not just committed them (a fresh one over the same ledger, as
 * after a restart): nothing of those transactions is cached.
 */
export interface ReceiptsLaterFigures {
  readonly byTransactionPerSecond: number;
  readonly byDigestPerSecond: number;
  readonly receipts: number;
}

/** Receipts with and without a trusted time stamp, verified in process; medians of rounds. */
export interface TimestampFigures {
  readonly receiptsPerSecond: number;
  readonly plainReceiptsPerSecond: number;
  /** DER bytes of the token, and the receipt's JSON bytes with and without it. */
  readonly tokenBytes: number;
  readonly receiptBytes: number;
  readonly plainReceiptBytes: number;
}

export interface VerificationFigures {
  readonly receiptsPerSecond: number;
  readonly signatureChecksPerSecond: number;
  readonly sm2: Sm2Figures;
  readonly timestamps: TimestampFigures;
  readonly receiptsLater: ReceiptsLaterFigures;
  /** Median wall seconds of `evidence verify` for one receipt, and of `node -e ''`. */
  readonly cliVerifySeconds: number;
  readonly nodeStartSeconds: number;
  readonly cliRuns: number;
}

/** Calls `fn` `count` times and returns calls per second. */
function rate(count: number, fn: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const items = createItemSource();
const SERVICE_OPTIONS = { groupCommitMax: 1000, groupCommitDelayMs: 0, submitTimeoutMs: 60_000 };

/** A fresh embedded ledger in `dir` whose key is of `algorithm`, with its evidence service. */
async function openNode(dir: string, algorithm: NodeKeyAlgorithm): Promise<Store> {
  const ledger = await openEmbeddedLedger({
    dataDir: dir,
    org: 'BenchNode',
    nodeKeyAlgorithm: algorithm,
  });
  return storeOver(ledger, SERVICE_OPTIONS);
}

/**
 * The receipt of `content` deposited with 999 others on a fresh node of `algorithm` (a batch of a
 * realistic size, so its inclusion path has the usual length), and the node's trust file.
 */
async function receiptFrom(dir: string, algorithm: NodeKeyAlgorithm, content: Buffer) {
  const digests = digestBytes(content);
  const node = await openNode(dir, algorithm);
  try {
    const [mine] = await node.service.depositMany(
      [{ digests: [digests.sha256, digests.sm3 as Digest] }, ...items.take(999)],
      BENCH_PRINCIPAL,
    );
    if (!mine || !('receipt' in mine)) throw new Error('the bench deposit failed');
    const receipt: Receipt = mine.receipt;
    const trust = parseTrustFile(node.ledger.trust());
    const once = verifyReceipt(receipt, trust, { fileDigests: digests });
    if (once.verdict !== 'VERIFIED') throw new Error(`the bench receipt gave ${once.verdict}`);
    return { receipt, trust, digests };
  } finally {
    await node.close();
  }
}

/** A function giving microseconds per block signature by the node key in `dataDir`. */
async function signMicros(dataDir: string, header: Receipt['proof']['block']['header']) {
  const key = await loadNodeKey(path.join(dataDir, 'node-key.pem'));
  if (!key) throw new Error('no node key');
  const bytes = blockSigningBytes(header);
  return (count: number) => 1e6 / rate(count, () => key.sign(bytes));
}

/** Digests per second in process: `rounds` 32-record transactions, one after another. */
async function smallBatches(node: Store, rounds: number) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await node.service.depositMany(items.take(32), BENCH_PRINCIPAL);
  return (rounds * 32) / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** SM2 against Ed25519 node keys, measured in alternating rounds (medians). */
async function measureSm2(
  dir: string,
  config: BenchConfig,
  ed25519: {
    receipt: Receipt;
    trust: ReturnType<typeof parseTrustFile>;
    digests: ReturnType<typeof digestBytes>;
  },
  log: (line: string) => void,
): Promise<Sm2Figures> {
  const sm2 = await receiptFrom(path.join(dir, 'sm2'), 'sm2-sm3', randomBytes(4096));
  const verifyRate = (r: typeof sm2, count: number) =>
    rate(count, () => verifyReceipt(r.receipt, r.trust, { fileDigests: r.digests }));
  // SM2 verification is ~10x slower: fewer of them, so a round takes about as long.
  const sm2Count = Math.max(50, Math.ceil(config.verifications / 20));
  verifyRate(sm2, Math.ceil(sm2Count / 10));
  const signEd = await signMicros(path.join(dir, 'node'), ed25519.receipt.proof.block.header);
  const signSm2 = await signMicros(path.join(dir, 'sm2'), sm2.receipt.proof.block.header);
  const samples = {
    sm2: [] as number[],
    ed: [] as number[],
    signSm2: [] as number[],
    signEd: [] as number[],
    smallSm2: [] as number[],
    smallEd: [] as number[],
  };
  const edNode = await openNode(path.join(dir, 'small-ed25519'), 'ed25519');
  const sm2Node = await openNode(path.join(dir, 'small-sm2'), 'sm2-sm3');
  try {
    const rounds = config.smoke ? 5 : 150;
    await smallBatches(edNode, Math.ceil(rounds / 5));
    await smallBatches(sm2Node, Math.ceil(rounds / 5));
    for (let round = 0; round < 3; round++) {
      samples.ed.push(verifyRate(ed25519, config.verifications / 4));
      samples.sm2.push(verifyRate(sm2, sm2Count));
      samples.signEd.push(signEd(sm2Count));
      samples.signSm2.push(signSm2(sm2Count));
      samples.smallEd.push(await smallBatches(edNode, rounds));
      samples.smallSm2.push(await smallBatches(sm2Node, rounds));
    }
  } finally {
    await edNode.close();
    await sm2Node.close();
  }
  const figures: Sm2Figures = {
    receiptsPerSecond: median(samples.sm2),
    ed25519ReceiptsPerSecond: median(samples.ed),
    signMicros: median(samples.signSm2),
    ed25519SignMicros: median(samples.signEd),
    smallBatchDigestsPerSecond: median(samples.smallSm2),
    ed25519SmallBatchDigestsPerSecond: median(samples.smallEd),
  };
  log(
    `verification, SM2 node key: ${figures.receiptsPerSecond.toFixed(0)} receipts/s ` +
      `(Ed25519 ${figures.ed25519ReceiptsPerSecond.toFixed(0)}), block signature ` +
      `${figures.signMicros.toFixed(0)} µs (Ed25519 ${figures.ed25519SignMicros.toFixed(0)}), ` +
      `32-record transactions ${figures.smallBatchDigestsPerSecond.toFixed(0)} digests/s ` +
      `(Ed25519 ${figures.ed25519SmallBatchDigestsPerSecond.toFixed(0)})`,
  );
  return figures;
}

type Verifiable = Awaited<ReturnType<typeof receiptFrom>>;

/** A time-stamped receipt against the same without (see {@link TimestampFigures}). */
async function measureTimestamps(
  config: BenchConfig,
  plain: Verifiable,
  log: (line: string) => void,
): Promise<TimestampFigures> {
  const authority = await createTsaAuthority('rsa');
  try {
    const imprint = blockHash(plain.receipt.proof.block.header).slice('sha256:'.length);
    const token = parseTimestampResponse(await authority.stamp(imprint)).token;
    if (!token) throw new Error('the bench authority did not stamp');
    const stamped: Verifiable = {
      ...plain,
      receipt: {
        ...plain.receipt,
        anchors: [
          {
            kind: TIMESTAMP_ANCHOR_KIND,
            authority: 'bench-tsa',
            headers: [],
            token: Buffer.from(token).toString('base64'),
          },
        ],
      },
      trust: mergeTrust(plain.trust, {
        type: TRUST_FILE_TYPE,
        version: 1,
        chains: [
          {
            kind: 'rfc3161',
            chainId: 'bench-tsa',
            keys: [authorityCertificate(authority.certificatePem).key],
          },
        ],
      }),
    };
    const verifyRate = (r: Verifiable, count: number) =>
      rate(count, () => {
        const verdict = verifyReceipt(r.receipt, r.trust, {
          fileDigests: r.digests,
          requireAnchors: r === stamped ? ['bench-tsa'] : false,
        });
        if (verdict.verdict !== 'VERIFIED')
          throw new Error(`the bench receipt gave ${verdict.verdict}`);
      });
    const count = Math.ceil(config.verifications / 4);
    verifyRate(stamped, Math.ceil(count / 10));
    const withStamp: number[] = [];
    const without: number[] = [];
    for (let round = 0; round < 3; round++) {
      without.push(verifyRate(plain, count));
      withStamp.push(verifyRate(stamped, count));
    }
    const figures: TimestampFigures = {
      receiptsPerSecond: median(withStamp),
      plainReceiptsPerSecond: median(without),
      tokenBytes: token.length,
      receiptBytes: Buffer.byteLength(JSON.stringify(stamped.receipt, null, 2)),
      plainReceiptBytes: Buffer.byteLength(JSON.stringify(plain.receipt, null, 2)),
    };
    log(
      `verification, RFC 3161 time stamp: ${figures.receiptsPerSecond.toFixed(0)} receipts/s ` +
        `(without ${figures.plainReceiptsPerSecond.toFixed(0)}), token ${figures.tokenBytes} B`,
    );
    return figures;
  } finally {
    await authority.remove();
  }
}

/** Receipts later, by transaction against by digest (see {@link ReceiptsLaterFigures}). */
async function measureReceiptsLater(
  dir: string,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ReceiptsLaterFigures> {
  const node = await openNode(dir, 'ed25519');
  try {
    const batches = config.smoke ? 2 : 5;
    const acknowledge = async () => {
      const acks: Array<{ digest: Digest; txId: string }> = [];
      for (let b = 0; b < batches; b++) {
        const results = await node.service.depositMany(items.take(1000), BENCH_PRINCIPAL, {
          receipts: false,
        });
        for (const result of results) if ('txId' in result) acks.push(result);
      }
      return acks;
    };
    /** Receipts per second of `work` done by a fresh service over the node's ledger. */
    const rateOf = async (count: number, work: (service: EvidenceService) => Promise<void>) => {
      const service = createEvidenceService({
        ledger: node.ledger,
        org: 'BenchNode',
        ...SERVICE_OPTIONS,
      });
      try {
        const started = process.hrtime.bigint();
        await work(service);
        return count / (Number(process.hrtime.bigint() - started) / 1e9);
      } finally {
        await service.close();
      }
    };
    const byDigest: number[] = [];
    const byTransaction: number[] = [];
    for (let round = 0; round < 2; round++) {
      const one = await acknowledge();
      byDigest.push(
        await rateOf(one.length, async (service) => {
          for (const ack of one) {
            if (!(await service.receipt(ack.digest, BENCH_PRINCIPAL)))
              throw new Error('a receipt is missing');
          }
        }),
      );
      const other = await acknowledge();
      byTransaction.push(
        await rateOf(other.length, async (service) => {
          let given = 0;
          for (const txId of new Set(other.map((ack) => ack.txId))) {
            const found = await service.transactionReceipts(txId, BENCH_PRINCIPAL, { all: false });
            given += found?.receipts.length ?? 0;
          }
          if (given !== other.length) throw new Error(`${given} receipts for ${other.length}`);
        }),
      );
    }
    const figures = {
      byTransactionPerSecond: median(byTransaction),
      byDigestPerSecond: median(byDigest),
      receipts: batches * 1000,
    };
    log(
      `receipts later: ${figures.byTransactionPerSecond.toFixed(0)}/s by transaction, ` +
        `${figures.byDigestPerSecond.toFixed(0)}/s one digest at a time`,
    );
    return figures;
  } finally {
    await node.close();
  }
}

/** Measures the verification figures with a receipt from a fresh embedded ledger. */
export async function measureVerification(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<VerificationFigures> {
  const dir = await fs.mkdtemp(path.join(config.workDir, 'bench-verify-'));
  try {
    const content = randomBytes(4096);
    const ed25519 = await receiptFrom(path.join(dir, 'node'), 'ed25519', content);
    const { receipt, trust, digests } = ed25519;

    rate(Math.ceil(config.verifications / 10), () =>
      verifyReceipt(receipt, trust, { fileDigests: digests }),
    );
    const receiptsPerSecond = rate(config.verifications, () =>
      verifyReceipt(receipt, trust, { fileDigests: digests }),
    );
    const key = publicKeyFromSpki(trust.chains[0]?.keys[0]?.publicKey ?? '');
    if (!key) throw new Error('the trust file has no usable key');
    const signed = blockSigningBytes(receipt.proof.block.header);
    const signature = Buffer.from(receipt.proof.block.signature.value, 'base64');
    const signatureChecksPerSecond = rate(config.verifications, () => {
      if (!verifySignature(null, signed, key, signature)) throw new Error('bad signature');
    });
    log(
      `verification: ${receiptsPerSecond.toFixed(0)} receipts/s, ` +
        `${signatureChecksPerSecond.toFixed(0)} Ed25519 checks/s`,
    );

    const file = path.join(dir, 'evidence.bin');
    const receiptFile = path.join(dir, 'evidence.receipt.json');
    const trustFile = path.join(dir, 'trust.json');
    await fs.writeFile(file, content);
    await fs.writeFile(receiptFile, JSON.stringify(receipt));
    await fs.writeFile(trustFile, JSON.stringify(trust));
    const cli: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < config.cliRuns; i++) {
      bare.push((await run(process.execPath, ['-e', ''])).seconds);
      const verified = await run(process.execPath, [
        path.join('bin', 'evidence.js'),
        'verify',
        file,
        '--receipt',
        receiptFile,
        '--trust',
        trustFile,
        '--json',
      ]);
      if ((JSON.parse(verified.stdout) as { verdict: string }).verdict !== 'VERIFIED') {
        throw new Error('evidence verify did not give VERIFIED');
      }
      cli.push(verified.seconds);
    }
    const sm2 = await measureSm2(dir, config, ed25519, log);
    const timestamps = await measureTimestamps(config, ed25519, log);
    const receiptsLater = await measureReceiptsLater(path.join(dir, 'later'), config, log);
    const figures = {
      receiptsPerSecond,
      signatureChecksPerSecond,
      sm2,
      timestamps,
      receiptsLater,
      cliVerifySeconds: median(cli),
      nodeStartSeconds: median(bare),
      cliRuns: config.cliRuns,
    };
    log(
      `verification: evidence verify ${figures.cliVerifySeconds.toFixed(3)} s, ` +
        `node -e '' ${figures.nodeStartSeconds.toFixed(3)} s`,
    );
    return figures;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
