/**
 * The benchmark's results: the figures of each section, the targets they are held against, and
 * the machine they were measured on, written as `latest.json` and as the Markdown table
 * `latest.md`. Every row pairs a figure with a reference measured in the same run.
 */

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HashingFigures } from './hashing';
import type { HttpFigures, LoadFigure } from './http';
import type { ReplicationFigures } from './replication';
import type { ScaleFigures } from './scale';
import type { LayoutPart } from './storage-ceiling';
import type { VerificationFigures } from './verification';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  /** OpenSSL inside Node, and the `openssl` command's. */
  readonly nodeOpenssl: string;
  readonly openssl: string;
  readonly platform: string;
  /** 1-minute load average at the start and end: > cpus means the machine was shared. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

export interface Figures {
  readonly hashing?: HashingFigures;
  readonly http?: HttpFigures;
  readonly verification?: VerificationFigures;
  readonly scale?: ScaleFigures;
  readonly replication?: ReplicationFigures;
}

/** One figure against its reference and, when there is one, its target. */
export interface Row {
  readonly id: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  readonly reference: string;
  /** value / reference, or reference / value for "lower is better" ratios, as the target reads. */
  readonly ratio: number | null;
  readonly target: string | null;
  /** null: no target. */
  readonly pass: boolean | null;
}

export interface Results {
  readonly schema: 1;
  readonly date: string;
  readonly smoke: boolean;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly figures: Figures;
  readonly rows: readonly Row[];
}

export function machineInfo(loadStart: number): MachineInfo {
  let openssl = 'unknown';
  try {
    openssl = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown.
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    openssl,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: { start: loadStart, end: os.loadavg()[0] as number },
  };
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** The rows of every measured section, in a fixed order. */
export function rowsOf(figures: Figures): Row[] {
  const rows: Row[] = [];
  const { hashing, http, verification, scale, replication } = figures;
  if (hashing) {
    const slower = Math.max(hashing.opensslSha256Seconds, hashing.opensslSm3Seconds);
    rows.push({
      id: 'hash-both-digests',
      figure: `evidence hash, sha256 + sm3 of ${hashing.bytes / 1024 ** 2} MiB (wall s)`,
      value: round(hashing.cliSeconds, 3),
      unit: 's',
      reference:
        `openssl dgst -sha256 ${hashing.opensslSha256Seconds.toFixed(2)} s, ` +
        `-sm3 ${hashing.opensslSm3Seconds.toFixed(2)} s`,
      ratio: round(hashing.cliSeconds / slower, 3),
      target: '≤ 1.15 × the slower openssl',
      pass: hashing.cliSeconds <= 1.15 * slower,
    });
    rows.push({
      id: 'hash-parallel-effect',
      figure: 'in process, both digests on two threads (s)',
      value: round(hashing.inProcessParallelSeconds, 3),
      unit: 's',
      reference: `one thread ${hashing.inProcessSerialSeconds.toFixed(2)} s`,
      ratio: round(hashing.inProcessParallelSeconds / hashing.inProcessSerialSeconds, 3),
      target: null,
      pass: null,
    });
  }
  if (http) {
    const { node, bare } = http.single;
    const cpu = (figure: { cpuMicrosPerRequest: number | null }) =>
      figure.cpuMicrosPerRequest === null ? '?' : figure.cpuMicrosPerRequest.toFixed(0);
    rows.push({
      id: 'deposit-single-rate',
      figure: `single deposits over HTTP, ${http.connections} connections (durable/s)`,
      value: round(node.requestsPerSecond, 0),
      unit: '1/s',
      reference:
        `bare Fastify route ${bare.requestsPerSecond.toFixed(0)} req/s; server CPU per request ` +
        `${cpu(node)} µs vs bare ${cpu(bare)} µs`,
      ratio: round(node.requestsPerSecond / bare.requestsPerSecond, 3),
      target: '≥ 0.4 × bare',
      pass: node.requestsPerSecond >= 0.4 * bare.requestsPerSecond && node.failed === 0,
    });
    /** Server CPU by thread per request / `per`, where /proc told it. */
    const cpuRow = (id: string, figure: string, load: LoadFigure, per: number, bareCpu = '') => {
      const byThread = load.cpuMicrosByThread;
      if (byThread === null || load.cpuMicrosPerRequest === null) return;
      const each = (micros: number) => `${(micros / per).toFixed(1)} µs`;
      rows.push({
        id,
        figure,
        value: round(load.cpuMicrosPerRequest / per, 1),
        unit: 'µs',
        reference:
          `HTTP thread ${each(byThread.http)}, ledger thread ${each(byThread.ledger)}, ` +
          `threads the ledger thread started (LevelDB's compaction, I/O) ${each(byThread.storage)}, ` +
          `others (V8's garbage collection helpers) ${each(byThread.other)}${bareCpu}`,
        ratio: null,
        target: null,
        pass: null,
      });
    };
    cpuRow(
      'deposit-single-cpu',
      'single deposits, server CPU per deposit by thread (µs)',
      node,
      1,
      `; bare route ${cpu(bare)} µs`,
    );
    rows.push({
      id: 'deposit-single-latency',
      figure: 'single deposits, p99 latency (ms)',
      value: node.p99Ms,
      unit: 'ms',
      reference: `p50 ${node.p50Ms} ms; bare route p50 ${bare.p50Ms} ms, p99 ${bare.p99Ms} ms`,
      ratio: null,
      target: '< 100 ms',
      pass: node.p99Ms < 100,
    });
    rows.push({
      id: 'deposit-batch-rate',
      figure: `batch deposits, ${http.batchItems} items, ${http.batchConnections} connections (durable digests/s)`,
      value: round(http.batch.node.itemsPerSecond, 0),
      unit: '1/s',
      reference:
        `bare route parses ${http.batch.bare.itemsPerSecond.toFixed(0)} items/s; server CPU ` +
        `${
          http.batch.node.cpuMicrosPerRequest === null
            ? '?'
            : (http.batch.node.cpuMicrosPerRequest / http.batchItems).toFixed(1)
        } µs per digest`,
      ratio: round(http.batch.node.itemsPerSecond / http.batch.bare.itemsPerSecond, 4),
      target: '≥ 100,000 digests/s',
      pass: http.batch.node.itemsPerSecond >= 100_000 && http.batch.node.failed === 0,
    });
    cpuRow(
      'deposit-batch-cpu',
      'batch deposits, server CPU per digest by thread (µs)',
      http.batch.node,
      http.batchItems,
    );
    const ack = http.batchAck.node;
    rows.push({
      id: 'deposit-batch-ack-rate',
      figure: `the same, acknowledged without receipts (\`receipts=none\`, durable digests/s)`,
      value: round(ack.itemsPerSecond, 0),
      unit: '1/s',
      reference:
        `bare route parses ${http.batch.bare.itemsPerSecond.toFixed(0)} items/s; server CPU ` +
        `${
          ack.cpuMicrosPerRequest === null
            ? '?'
            : (ack.cpuMicrosPerRequest / http.batchItems).toFixed(1)
        } µs per digest`,
      ratio: round(ack.itemsPerSecond / http.batch.bare.itemsPerSecond, 4),
      target: '≥ 100,000 digests/s',
      pass: ack.itemsPerSecond >= 100_000 && ack.failed === 0,
    });
  }
  if (verification) {
    rows.push({
      id: 'verify-in-process',
      figure: 'receipts verified in process, core verifyReceipt (1/s)',
      value: round(verification.receiptsPerSecond, 0),
      unit: '1/s',
      reference: `Ed25519 verify ${verification.signatureChecksPerSecond.toFixed(0)}/s`,
      ratio: round(verification.receiptsPerSecond / verification.signatureChecksPerSecond, 3),
      target: null,
      pass: null,
    });
    const { sm2 } = verification;
    rows.push({
      id: 'sm2-verify-in-process',
      figure: 'receipts verified in process, SM2 node key (1/s)',
      value: round(sm2.receiptsPerSecond, 0),
      unit: '1/s',
      reference: `Ed25519 node key ${sm2.ed25519ReceiptsPerSecond.toFixed(0)}/s`,
      ratio: round(sm2.receiptsPerSecond / sm2.ed25519ReceiptsPerSecond, 3),
      target: null,
      pass: null,
    });
    rows.push({
      id: 'sm2-sign-block',
      figure: 'one block signature, SM2 node key (µs)',
      value: round(sm2.signMicros, 1),
      unit: 'µs',
      reference: `Ed25519 ${sm2.ed25519SignMicros.toFixed(1)} µs`,
      ratio: round(sm2.signMicros / sm2.ed25519SignMicros, 2),
      target: null,
      pass: null,
    });
    rows.push({
      id: 'sm2-small-batches',
      figure: 'deposits in process, 32-record transactions, SM2 node key (digests/s)',
      value: round(sm2.smallBatchDigestsPerSecond, 0),
      unit: '1/s',
      reference: `Ed25519 node key ${sm2.ed25519SmallBatchDigestsPerSecond.toFixed(0)}/s`,
      ratio: round(sm2.smallBatchDigestsPerSecond / sm2.ed25519SmallBatchDigestsPerSecond, 3),
      target: null,
      pass: null,
    });
    const { timestamps } = verification;
    rows.push({
      id: 'timestamp-verify-in-process',
      figure: 'receipts verified in process with an RFC 3161 time stamp, RSA-2048 authority (1/s)',
      value: round(timestamps.receiptsPerSecond, 0),
      unit: '1/s',
      reference: `the same receipt without it ${timestamps.plainReceiptsPerSecond.toFixed(0)}/s (token ${timestamps.tokenBytes} B; receipt ${timestamps.plainReceiptBytes} → ${timestamps.receiptBytes} B)`,
      ratio: round(timestamps.receiptsPerSecond / timestamps.plainReceiptsPerSecond, 3),
      target: null,
      pass: null,
    });
    const { receiptsLater } = verification;
    rows.push({
      id: 'receipts-later',
      figure: `receipts of acknowledged deposits, by transaction, in process (1/s)`,
      value: round(receiptsLater.byTransactionPerSecond, 0),
      unit: '1/s',
      reference: `one digest at a time ${receiptsLater.byDigestPerSecond.toFixed(0)}/s (${receiptsLater.receipts.toLocaleString('en')} receipts a round)`,
      ratio: round(receiptsLater.byTransactionPerSecond / receiptsLater.byDigestPerSecond, 2),
      target: null,
      pass: null,
    });
    rows.push({
      id: 'verify-cli',
      figure: 'evidence verify, one receipt (wall s)',
      value: round(verification.cliVerifySeconds, 3),
      unit: 's',
      reference: `node -e '' ${verification.nodeStartSeconds.toFixed(3)} s`,
      ratio: round(verification.cliVerifySeconds / verification.nodeStartSeconds, 2),
      target: null,
      pass: null,
    });
  }
  if (scale) {
    const { empty, full } = scale;
    rows.push({
      id: 'scale-deposit-rate',
      figure: `deposits in process with ${full.records.toLocaleString('en')} records stored (digests/s)`,
      value: round(full.deposits.digestsPerSecond, 0),
      unit: '1/s',
      reference:
        `empty store ${empty.deposits.digestsPerSecond.toFixed(0)}/s (measured in alternating ` +
        `rounds); CPU per digest ${full.deposits.cpuMicrosPerDigest.toFixed(0)} µs vs ` +
        `${empty.deposits.cpuMicrosPerDigest.toFixed(0)} µs`,
      ratio: round(full.deposits.digestsPerSecond / empty.deposits.digestsPerSecond, 3),
      target: '≥ 0.8 × empty',
      pass: full.deposits.digestsPerSecond >= 0.8 * empty.deposits.digestsPerSecond,
    });
    rows.push({
      id: 'scale-read-latency',
      figure: `read latency with ${full.records.toLocaleString('en')} records, p50 / p99 (ms)`,
      value: round(full.reads.p50Ms, 3),
      unit: 'ms',
      reference:
        `p99 ${full.reads.p99Ms.toFixed(3)} ms; empty store p50 ${empty.reads.p50Ms.toFixed(3)} ms, ` +
        `p99 ${empty.reads.p99Ms.toFixed(3)} ms`,
      ratio: round(full.reads.p50Ms / empty.reads.p50Ms, 2),
      target: null,
      pass: null,
    });
    const ceiling = scale.storageCeiling;
    rows.push({
      id: 'storage-ceiling',
      figure:
        "LevelDB alone: the ledger store's own entries written again, one synced batch per " +
        '1,000-record block (records/s)',
      value: round(ceiling.recordsPerSecond, 0),
      unit: '1/s',
      reference:
        `${ceiling.records.toLocaleString('en')} records, ${ceiling.entries.toLocaleString('en')} ` +
        `entries, ${(ceiling.bytes / ceiling.records).toFixed(0)} B written per record; CPU ` +
        `${ceiling.cpuMicrosPerRecord.toFixed(1)} µs per record (LevelDB's threads included)`,
      ratio: null,
      target: null,
      pass: null,
    });
    const parts: Array<[string, string, LayoutPart]> = [
      ['storage-no-history', 'without the history pointers', ceiling.parts.withoutHistory],
      [
        'storage-no-blocks',
        'without the blocks (world state, history, index)',
        ceiling.parts.withoutBlocks,
      ],
      ['storage-blocks-only', 'the blocks alone', ceiling.parts.blocksOnly],
      ['storage-state-only', 'the world state alone', ceiling.parts.stateOnly],
    ];
    for (const [id, what, measured] of parts) {
      rows.push({
        id,
        figure: `LevelDB alone, the same blocks' entries: ${what} (records/s)`,
        value: round(measured.recordsPerSecond, 0),
        unit: '1/s',
        reference:
          `the whole layout ${ceiling.recordsPerSecond.toFixed(0)} records/s in the same run; ` +
          `${measured.bytesPerRecord.toFixed(0)} B written and ${measured.cpuMicrosPerRecord.toFixed(1)} µs ` +
          'of CPU per record',
        ratio: round(measured.ratio, 2),
        target: null,
        pass: null,
      });
    }
    const check = scale.chainCheck;
    rows.push({
      id: 'chain-check',
      figure:
        `whole-chain check from block 0 (promote-replica, check-backup), ` +
        `${check.records.toLocaleString('en')} records (records/s)`,
      value: round(check.recordsPerSecond, 0),
      unit: '1/s',
      reference:
        `${check.blocks.toLocaleString('en')} blocks checked in ${check.seconds.toFixed(1)} s; ` +
        `reading and parsing them without any check ${check.readSeconds.toFixed(1)} s`,
      ratio: round(check.seconds / check.readSeconds, 2),
      target: null,
      pass: null,
    });
    rows.push({
      id: 'scale-bytes-per-record',
      figure: 'bytes on disk per record, after compaction',
      value: round(scale.bytesPerRecord, 0),
      unit: 'B',
      reference: `${(scale.bytesOnDisk / 1024 ** 2).toFixed(1)} MiB for ${full.records.toLocaleString('en')} records`,
      ratio: null,
      target: '≤ 1024 B',
      pass: scale.bytesPerRecord <= 1024,
    });
  }
  if (replication) {
    const { source, replica } = replication;
    rows.push({
      id: 'replica-copy',
      figure:
        'replica copying a chain over HTTP, 1,000-record blocks, every transaction run again ' +
        '(records/s)',
      value: round(replica.recordsPerSecond, 0),
      unit: '1/s',
      reference:
        `the source deposited them at ${source.digestsPerSecond.toFixed(0)} digests/s ` +
        `(${replication.records.toLocaleString('en')} records); ` +
        `${replica.blocksPerSecond.toFixed(1)} blocks/s; process CPU per record ` +
        `${replica.cpuMicrosPerRecord.toFixed(0)} µs (the source's serving included) vs ` +
        `${source.cpuMicrosPerDigest.toFixed(0)} µs per deposit`,
      ratio: round(replica.recordsPerSecond / source.digestsPerSecond, 3),
      target: null,
      pass: null,
    });
    const { poll } = replication;
    rows.push({
      id: 'replica-poll',
      figure: "an up-to-date replica's poll of its source, the last block held (bytes)",
      value: poll.headerBytes,
      unit: 'B',
      reference: `the same answer with that 1,000-record block sent whole: ${poll.wholeBytes.toLocaleString('en')} B`,
      ratio: round(poll.headerBytes / poll.wholeBytes, 5),
      target: null,
      pass: null,
    });
  }
  return rows;
}

function verdict(pass: boolean | null): string {
  if (pass === null) return '—';
  return pass ? 'pass' : '**miss**';
}

/** The Markdown report: the table, then the machine. */
export function markdown(results: Results): string {
  const { machine } = results;
  const lines = [
    `# Benchmark results${results.smoke ? ' (SMOKE run: the figures mean nothing)' : ''}`,
    '',
    `Measured ${results.date} in ${results.durationSeconds.toFixed(0)} s on ${machine.cpus} CPUs ` +
      `(${machine.cpuModel}), Node ${machine.node} (OpenSSL ${machine.nodeOpenssl}), ` +
      `${machine.openssl}. Load average ${machine.loadAverage.start.toFixed(2)} at the start, ` +
      `${machine.loadAverage.end.toFixed(2)} at the end (the benchmark's own processes count in ` +
      `it${machine.loadAverage.start > machine.cpus * 0.25 ? '; other work was running when it started' : ''}).`,
    '',
    '| figure | measured | reference (same run) | ratio | target | result |',
    '|---|---:|---|---:|---|---|',
    ...results.rows.map(
      (row) =>
        `| ${row.figure} | ${row.value.toLocaleString('en')} | ${row.reference} | ` +
        `${row.ratio === null ? '—' : row.ratio} | ${row.target ?? '—'} | ${verdict(row.pass)} |`,
    ),
    '',
    'Fabric figures: pending (the Fabric binaries are not available on this machine).',
    '',
  ];
  return lines.join('\n');
}

/** Writes `latest.json` and `latest.md` into `outDir`. */
export async function writeResults(outDir: string, results: Results): Promise<void> {
  await fs.mkdir(outDir, { recursive: true });
  await fs.writeFile(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await fs.writeFile(path.join(outDir, 'latest.md'), markdown(results));
}
