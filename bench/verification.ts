/**
 * Verification figures: receipts verified per second in this process by core's `verifyReceipt`
 * (file digests given, so every step runs), against the Ed25519 signature checks per second that
 * dominate it; and the wall time of `evidence verify FILE --receipt R --trust T` for one receipt,
 * against `node -e ''` (the start-up any Node CLI pays).
 */

import { randomBytes, verify as verifySignature } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { blockSigningBytes } from '../core/block';
import { digestBytes, type Digest } from '../core/digest';
import type { Receipt } from '../core/receipt';
import { publicKeyFromSpki } from '../core/signature';
import { parseTrustFile } from '../core/trust';
import { verifyReceipt } from '../core/verify';
import { createEvidenceService } from '../gateway/evidence-service';
import { openEmbeddedLedger } from '../gateway/ledger/embedded-ledger';
import type { BenchConfig } from './config';
import { median, run } from './processes';

export interface VerificationFigures {
  readonly receiptsPerSecond: number;
  readonly signatureChecksPerSecond: number;
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

/** Measures the verification figures with a receipt from a fresh embedded ledger. */
export async function measureVerification(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<VerificationFigures> {
  const dir = await fs.mkdtemp(path.join(config.workDir, 'bench-verify-'));
  try {
    const content = randomBytes(4096);
    const digests = digestBytes(content);
    const ledger = await openEmbeddedLedger({ dataDir: path.join(dir, 'node'), org: 'BenchNode' });
    const service = createEvidenceService({
      ledger,
      org: 'BenchNode',
      groupCommitMax: 1000,
      groupCommitDelayMs: 0,
      submitTimeoutMs: 60_000,
    });
    const principal = {
      keyId: 'bench',
      org: 'BenchPlatform',
      account: 'bench',
      role: 'platform',
    } as const;
    // A receipt from a batch of a realistic size, so its inclusion path has the usual length.
    const others = Array.from({ length: 999 }, () => {
      const other = digestBytes(randomBytes(32));
      return { digests: [other.sha256, other.sm3 as Digest] };
    });
    const [mine] = await service.depositMany(
      [{ digests: [digests.sha256, digests.sm3 as Digest] }, ...others],
      principal,
    );
    if (!mine || !('receipt' in mine)) throw new Error('the bench deposit failed');
    const receipt: Receipt = mine.receipt;
    const trust = parseTrustFile(ledger.trust());
    await service.close();
    await ledger.close();

    const once = verifyReceipt(receipt, trust, { fileDigests: digests });
    if (once.verdict !== 'VERIFIED') throw new Error(`the bench receipt gave ${once.verdict}`);
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
    const figures = {
      receiptsPerSecond,
      signatureChecksPerSecond,
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
