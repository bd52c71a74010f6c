/**
 * The embedded ledger on its own thread: the shared contract suite through the proxy, and what
 * only the thread boundary can get wrong (errors crossing it, closing, a thread that dies).
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import { LedgerError, StateError, ValidationError } from '../../core/errors';
import type { EvidenceRecord } from '../../core/evidence';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { TrustFile } from '../../core/trust';
import type { LedgerIdentity } from '../../gateway/ledger/ledger';
import { openThreadedLedger, ThreadedLedger } from '../../gateway/ledger/threaded-ledger';
import type { ThreadCaller } from '../../gateway/threads/rpc';
import { LEDGER_THREAD_NAME } from '../../gateway/threads/thread-name';
import { ledgerContractSuite } from '../gateway/contract-suite';
import { ensureBuilt } from '../support/build';
import { rejectionOf } from '../support/rejection';

/** The compiled thread script: a worker runs JavaScript, not the sources vitest reads. */
const THREAD_SCRIPT = path.resolve('dist/gateway/ledger/embedded/ledger-thread.js');
const GATEWAY: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };

function record(content: string): EvidenceRecord {
  const d = digestBytes(Buffer.from(content));
  return {
    digests: [d.sha256, d.sm3 as Digest],
    depositor: { org: 'PlatformOrg', account: 'a-1' },
  };
}

beforeAll(() => ensureBuilt());

ledgerContractSuite('embedded ledger on its own thread', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'contract-threaded-'));
  const ledger = await openThreadedLedger({
    dataDir: dir,
    org: 'NodeOrg',
    threadScript: THREAD_SCRIPT,
  });
  return {
    ledger,
    close: async () => {
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});

describe('threaded embedded ledger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'threaded-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes the same chain the in-thread ledger reads back and verifies', async () => {
    const threaded = await openThreadedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      threadScript: THREAD_SCRIPT,
    });
    const batch = buildBatch([record('one'), record('two')]);
    const committed = await threaded.submit(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: batch.records, root: batch.root })],
      GATEWAY,
    );
    expect(committed.blockNumber).toBe(1);
    expect(committed.event?.name).toBe('EvidenceDeposited');
    // A replica's ask crosses the thread whole: the block it holds comes back as its header.
    const asked = await threaded.rawBlocks(0, 2, 1 << 20, 'header');
    expect(asked.height).toBe(2);
    expect(JSON.parse(asked.blocks[0]!)).toEqual(await threaded.blockHeader(0));
    expect(JSON.parse(asked.blocks[1]!)).toMatchObject({ header: { number: 1 } });
    const trust = threaded.trust();
    const chainId = threaded.chainId;
    await threaded.close();

    const direct = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    try {
      expect(direct.chainId).toBe(chainId);
      expect(direct.trust()).toEqual(trust);
      expect(await direct.verifyChain()).toBe(2);
      const stored = await direct.transaction(committed.txId);
      expect(stored?.blockNumber).toBe(1);
    } finally {
      await direct.close();
    }
  });

  it.runIf(process.platform === 'linux')(
    'names its thread, so operators and the benchmark tell its CPU from the HTTP thread',
    async () => {
      const names = async () =>
        Promise.all(
          (await fs.readdir(`/proc/${process.pid}/task`)).map(async (tid) =>
            (
              await fs.readFile(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').catch(() => '')
            ).trim(),
          ),
        );
      const before = (await names()).filter((name) => name === LEDGER_THREAD_NAME).length;
      const ledger = await openThreadedLedger({
        dataDir: dir,
        org: 'NodeOrg',
        threadScript: THREAD_SCRIPT,
      });
      try {
        expect((await names()).filter((name) => name === LEDGER_THREAD_NAME)).toHaveLength(
          before + 1,
        );
      } finally {
        await ledger.close();
      }
    },
  );

  it('rebuilds errors as their own classes, with their codes and every field', async () => {
    const ledger = await openThreadedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      threadScript: THREAD_SCRIPT,
    });
    try {
      const invalid = await rejectionOf(
        ledger.submit('evidence', 'depositBatch', ['{"records":[{}],"root":"x"}'], GATEWAY),
      );
      expect(invalid).toBeInstanceOf(ValidationError);
      expect((invalid as ValidationError).code).toBe('VALIDATION_FAILED');
      expect((invalid as ValidationError).fields?.map((f) => f.path)).toContain('/root');

      const missing = await rejectionOf(
        ledger.submit(
          'evidence',
          'annotate',
          [record('x').digests[0] as string, '{"kind":"court-hold"}'],
          {
            mspId: 'CourtOrg',
            id: 'judge',
            role: 'court',
          },
        ),
      );
      expect(missing).toBeInstanceOf(StateError);
      expect((missing as StateError).code).toBe('EVIDENCE_NOT_FOUND');

      // Not an EvidenceError on the thread: its name and message still arrive.
      const range = await rejectionOf(ledger.countState('', 10));
      expect((range as Error).name).toBe('RangeError');
      expect((range as Error).message).toMatch(/prefix/);
    } finally {
      await ledger.close();
    }
  });

  it('refuses every call once closed, and closing twice is harmless', async () => {
    const failures: Error[] = [];
    const ledger = await openThreadedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      threadScript: THREAD_SCRIPT,
      onFailure: (error) => failures.push(error),
    });
    await ledger.close();
    // A thread that ends because it was closed did not fail.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failures).toEqual([]);
    await ledger.close();
    const error = await rejectionOf(ledger.info());
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('LEDGER_CLOSED');
  });

  it('reports a store it cannot open with the ledger code, and ends the thread', async () => {
    const first = await openThreadedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      threadScript: THREAD_SCRIPT,
    });
    try {
      const error = await rejectionOf(
        openThreadedLedger({ dataDir: dir, org: 'NodeOrg', threadScript: THREAD_SCRIPT }),
      );
      expect(error).toBeInstanceOf(LedgerError);
      expect((error as LedgerError).code).toBe('LEDGER_UNAVAILABLE');
      // The first ledger still answers: the failed second thread took nothing with it.
      expect((await first.info()).height).toBe(1);
    } finally {
      await first.close();
    }
  });

  it('fails waiting and later calls with LEDGER_UNAVAILABLE when the thread dies', async () => {
    // A thread that says it is ready and dies at its first call.
    const script = path.join(dir, 'dying-thread.js');
    await fs.writeFile(
      script,
      [
        "const { parentPort } = require('node:worker_threads');",
        "parentPort.postMessage({ ready: true, chainId: 'c', trust: { type: 'judicial-evidence-trust', version: 1, chains: [] } });",
        'parentPort.on("message", () => process.exit(7));',
      ].join('\n'),
    );
    const failures: Error[] = [];
    const ledger = await openThreadedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      threadScript: script,
      onFailure: (error) => failures.push(error),
    });
    const waiting = await rejectionOf(ledger.info());
    expect(waiting).toBeInstanceOf(LedgerError);
    expect((waiting as LedgerError).code).toBe('LEDGER_UNAVAILABLE');
    expect((waiting as LedgerError).message).toMatch(/exit code 7/);
    const later = await rejectionOf(ledger.transaction('0'.repeat(64)));
    expect((later as LedgerError).code).toBe('LEDGER_UNAVAILABLE');
    // The owner hears of it once, with the same error.
    expect(failures).toEqual([waiting]);
    await ledger.close();
    expect(failures).toHaveLength(1);
  });

  it('fails to open with LEDGER_UNAVAILABLE when the thread cannot start', async () => {
    const error = await rejectionOf(
      openThreadedLedger({ dataDir: dir, org: 'NodeOrg', threadScript: path.join(dir, 'none.js') }),
    );
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('LEDGER_UNAVAILABLE');
  });
});

describe('the threaded ledger after a failed rotation', () => {
  /** A thread whose rotation fails although its block landed, adopted at the next write. */
  function fakeThread() {
    const a: Digest = `sha256:${'a'.repeat(64)}`;
    const b: Digest = `sha256:${'b'.repeat(64)}`;
    const before = { trust: trustWith([a]), nodeKeys: [] };
    const after = { trust: trustWith([a, b]), nodeKeys: [] };
    let state = before;
    let writes = 0;
    const calls: string[] = [];
    const thread = {
      call: async (method: string) => {
        calls.push(method);
        if (method === 'rotateKey') throw new LedgerError('STORAGE_FULL', 'no space');
        if (method === 'submit') {
          writes += 1;
          // The first write after the failure adopts the landed rotation block and is abandoned.
          if (writes === 1) {
            state = after;
            throw new LedgerError('LEDGER_UNAVAILABLE', 'abandoned');
          }
          return { txId: 'x', blockNumber: 3, time: '', result: null, event: undefined };
        }
        if (method === 'keyState') return state;
        throw new Error(`unexpected ${method}`);
      },
      close: async () => undefined,
    };
    return { thread, before, after, calls };
  }

  function trustWith(keyIds: Digest[]): TrustFile {
    return {
      type: 'judicial-evidence-trust' as const,
      version: 1 as const,
      chains: [
        {
          kind: 'embedded' as const,
          chainId: 'nodeorg-0123456789ab',
          keys: keyIds.map((keyId) => ({
            keyId,
            algorithm: 'ed25519' as const,
            publicKey: 'AA==',
          })),
        },
      ],
    };
  }

  it('serves the trust file the thread adopted, and stops asking once a write succeeded', async () => {
    const { thread, before, after, calls } = fakeThread();
    const ledger = new ThreadedLedger(thread as unknown as ThreadCaller, {
      chainId: 'nodeorg-0123456789ab',
      trust: before.trust,
      nodeKeys: [],
      replica: false,
    });
    await rejectionOf(ledger.rotateKey());
    expect(ledger.trust()).toEqual(before.trust);
    await rejectionOf(ledger.submit('evidence', 'depositBatch', [], GATEWAY));
    expect(ledger.trust()).toEqual(after.trust);
    await ledger.submit('evidence', 'depositBatch', [], GATEWAY);
    await ledger.submit('evidence', 'depositBatch', [], GATEWAY);
    expect(calls.filter((c) => c === 'keyState')).toHaveLength(2);
  });
});
