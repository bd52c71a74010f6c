#!/usr/bin/env node
/**
 * Anchor proof size and verification time as the distance from a receipt's block to the anchored
 * block grows (docs/anchors.md). Uses the compiled code in dist/ (run `npm run build` first):
 *
 *   node bench/anchors.js [DISTANCE...]        default: 10 100 1000
 *
 * For each distance: a fresh evidence chain and court chain (embedded ledgers in a temporary
 * directory), one deposit, DISTANCE more blocks, the tip anchored on the court chain, the receipt
 * upgraded by the gateway's own upgrade code, then core's verifyReceipt timed with and without
 * the anchor. Sizes are of the JSON a depositor keeps (2-space indented, as the CLI writes it)
 * and compact.
 */

'use strict';

const { Buffer } = require('node:buffer');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

// fabric-contract-api logs every decorator at info level when loaded; keep the output readable.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'WARNING';

const dist = path.resolve(__dirname, '..', 'dist');
const { buildBatch } = require(path.join(dist, 'core/batch'));
const { canonicalJson } = require(path.join(dist, 'core/canonical'));
const { digestBytes } = require(path.join(dist, 'core/digest'));
const { mergeTrust } = require(path.join(dist, 'core/trust'));
const { verifyReceipt } = require(path.join(dist, 'core/verify'));
const { openEmbeddedLedger } = require(path.join(dist, 'gateway/ledger/embedded-ledger'));
const { receiptAt } = require(path.join(dist, 'gateway/receipts'));
const { upgradeReceipt } = require(path.join(dist, 'gateway/anchoring/upgrade'));

const gateway = { mspId: 'PlatformOrg', id: 'gateway', role: 'gateway' };
const anchorJob = { mspId: 'PlatformOrg', id: 'anchor-job', role: 'anchor' };
const silent = { info() {}, warn() {}, error() {} };

function record(content) {
  const d = digestBytes(Buffer.from(content));
  return { digests: [d.sha256, d.sm3], depositor: { org: 'PlatformOrg', account: 'lawyer-1' } };
}

async function depositOne(ledger, content) {
  const batch = buildBatch([record(content)]);
  const committed = await ledger.submit(
    'evidence',
    'depositBatch',
    [canonicalJson({ records: batch.records, root: batch.root })],
    gateway,
  );
  return { batch, committed };
}

/** Median milliseconds of `fn` over `runs` runs (after one warm-up). */
function timeMs(fn, runs) {
  fn();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const bytes = (value, pretty) => Buffer.byteLength(JSON.stringify(value, null, pretty ? 2 : 0));

async function measure(distance) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-anchors-'));
  const evidence = await openEmbeddedLedger({ dataDir: path.join(dir, 'e'), org: 'PlatformOrg' });
  const court = await openEmbeddedLedger({
    dataDir: path.join(dir, 'c'),
    org: 'CourtOrg',
    operator: 'Court',
  });
  try {
    const content = 'the evidence file';
    const { batch, committed } = await depositOne(evidence, content);
    for (let i = 0; i < distance; i++) await depositOne(evidence, `filler ${i}`);
    const tip = await evidence.info();
    const submitted = await court.submit(
      'anchor',
      'recordAnchor',
      [
        canonicalJson({
          sourceChainId: evidence.chainId,
          blockNumber: tip.height - 1,
          headerHash: tip.tipHash,
        }),
      ],
      anchorJob,
    );
    const anchorTx = await court.transaction(submitted.txId);
    const stored = {
      target: 'court',
      targetChainId: court.chainId,
      anchor: submitted.result.anchor,
      proof: {
        tx: anchorTx.header,
        result: anchorTx.result,
        txIndex: anchorTx.txIndex,
        txPath: anchorTx.txPath,
        block: anchorTx.block,
      },
      storedAt: new Date().toISOString(),
    };
    const receipt = receiptAt(batch, 0, await evidence.transaction(committed.txId));
    const upgradeStart = performance.now();
    const { receipt: upgraded } = await upgradeReceipt(
      {
        ledger: evidence,
        targets: ['court'],
        covering: async () => stored,
        trustOf: () => court.trust(),
        logger: silent,
      },
      receipt,
    );
    const upgradeMs = performance.now() - upgradeStart;
    const trust = mergeTrust(evidence.trust(), court.trust());
    const fileDigests = digestBytes(Buffer.from(content));
    const check = verifyReceipt(upgraded, trust, { fileDigests, requireAnchors: true });
    if (check.verdict !== 'VERIFIED') throw new Error(`not verified: ${check.code}`);
    const runs = distance >= 1000 ? 50 : 200;
    const proof = upgraded.anchors[0];
    const kept = JSON.stringify(upgraded, null, 2);
    return {
      distance,
      headers: proof.headers.length,
      receiptBytes: bytes(receipt, true),
      anchoredReceiptBytes: bytes(upgraded, true),
      proofBytes: bytes(proof, true),
      proofBytesCompact: bytes(proof, false),
      proofCanonicalBytes: Buffer.byteLength(canonicalJson(proof)),
      verifyPlainMs: timeMs(() => verifyReceipt(receipt, trust, { fileDigests }), runs),
      verifyAnchoredMs: timeMs(
        () => verifyReceipt(upgraded, trust, { fileDigests, requireAnchors: true }),
        runs,
      ),
      // What `evidence verify` does with the file it reads: parse, then verify.
      parseAndVerifyMs: timeMs(
        () => verifyReceipt(JSON.parse(kept), trust, { fileDigests, requireAnchors: true }),
        runs,
      ),
      upgradeMs,
    };
  } finally {
    await evidence.close();
    await court.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const distances = process.argv.slice(2).map(Number);
  const results = [];
  await measure(1); // warm-up: module loading and JIT, not reported
  for (const distance of distances.length > 0 ? distances : [10, 100, 1000]) {
    results.push(await measure(distance));
  }
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const ms = (n) => `${n.toFixed(2)} ms`;
  console.log(
    `node ${process.versions.node}, ${require('node:os').cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`,
  );
  console.log(
    'distance | receipt | with anchor | proof (pretty / compact / canonical) | verify plain | verify anchored | parse + verify | upgrade',
  );
  for (const r of results) {
    console.log(
      `${r.distance} | ${kb(r.receiptBytes)} | ${kb(r.anchoredReceiptBytes)} | ` +
        `${kb(r.proofBytes)} / ${kb(r.proofBytesCompact)} / ${kb(r.proofCanonicalBytes)} | ` +
        `${ms(r.verifyPlainMs)} | ${ms(r.verifyAnchoredMs)} | ${ms(r.parseAndVerifyMs)} | ${ms(r.upgradeMs)}`,
    );
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
