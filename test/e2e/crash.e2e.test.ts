/**
 * `kill -9` of the real node under a stream of deposits, many times over: no acknowledged deposit
 * is lost, every stored receipt verifies, the chain verifies from its first block, and the store
 * opens cleanly after each crash; the audit log's hash chain is intact after each crash. Every
 * fourth cycle an admin also rotates the node key at a random moment, so the kill lands anywhere
 * in a rotation too (to SM2 and back, alternately): every rotation answered is durable, the key
 * files are settled on the next open, and every receipt, of any key, verifies against the final
 * trust file.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { parseTrustFile, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { openAuditLog } from '../../gateway/audit/audit-log';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { ensureBuilt } from '../support/build';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);
const WRITERS = 16;
/** The ledger is under test, not the rate limiter: one principal writes as fast as it can. */
const ENV = { EVIDENCE_RATE_LIMIT_MAX: '1000000' };

describe('kill -9 under load', () => {
  let dir: string;
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crash-'));
  });

  afterAll(async () => {
    await node?.kill9();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged deposit over ${CYCLES} crashes`, async () => {
    const dataDir = path.join(dir, 'data');
    node = await startNode({ dataDir, env: ENV });
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'crash-test',
      role: 'platform',
    });
    const first = parseTrustFile(await (await fetch(`${node.url}/v1/trust`)).json());
    const acknowledged: string[] = [];
    let rotationsAnswered = 0;
    let rotationsAsked = 0;
    let currentAlgorithm = 'ed25519';
    let attempted = 0;
    let auditEntries = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      if (!node) node = await startNode({ dataDir, env: ENV });
      const url = node.url;
      let stop = false;
      const writer = async () => {
        while (!stop) {
          const item = digestBytes(randomBytes(32));
          attempted++;
          try {
            const response = await fetch(`${url}/v1/evidence`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify({ digests: [item.sha256, item.sm3] }),
            });
            if (response.status === 201) acknowledged.push(item.sha256);
            else await response.arrayBuffer();
          } catch {
            // connection reset by the kill: not acknowledged, so nothing is owed
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, writer);
      let rotation: Promise<void> = Promise.resolve();
      if (cycle % 4 === 3) {
        rotationsAsked++;
        // A rotation at a random moment of the load: the kill may land anywhere in it.
        rotation = new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 500)))
          .then(() =>
            // To SM2 and back, alternately: an SM2 key file is written, renamed and settled
            // by a crash as an Ed25519 one is.
            fetch(`${url}/v1/admin/node-keys`, {
              method: 'POST',
              headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                algorithm: currentAlgorithm === 'ed25519' ? 'sm2-sm3' : 'ed25519',
              }),
            }),
          )
          .then(async (response) => {
            if (response.status === 201) rotationsAnswered++;
            await response.arrayBuffer();
          })
          .catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(Math.random() * 600)));
      await node.kill9();
      await rotation;
      stop = true;
      await Promise.all(writers);
      node = undefined;

      const ledger = await openEmbeddedLedger({ dataDir, org: 'NodeOrg' });
      expect(await ledger.verifyChain()).toBeGreaterThan(0);
      // Every rotation answered is in the chain; the key files are settled by the open.
      expect(ledger.nodeKeys().length - 1).toBeGreaterThanOrEqual(rotationsAnswered);
      currentAlgorithm = ledger.nodeKeys().at(-1)!.algorithm;
      expect((await fs.readdir(dataDir)).filter((f) => f.startsWith('node-key'))).toEqual([
        'node-key.pem',
      ]);
      // The audit log loses at most the entries not yet written, never its chain.
      const audit = await openAuditLog({ dataDir, retentionDays: 183 });
      const verified = await audit.verify();
      expect(verified.intact, JSON.stringify(verified.failure)).toBe(true);
      auditEntries = verified.head.seq + 1;
      await audit.close();
      await ledger.close();
    }

    node = await startNode({ dataDir, env: ENV });
    // The trust file now: every key the chain was signed with, the first one still first.
    const trust = parseTrustFile(await (await fetch(`${node.url}/v1/trust`)).json());
    const keys = trust.chains[0]!.keys;
    expect(keys[0]!.keyId).toBe(first.chains[0]!.keys[0]!.keyId);
    expect(keys.length - 1).toBeGreaterThanOrEqual(rotationsAnswered);
    // Rotations alternate the algorithm, to SM2 first.
    expect(keys.map((k) => k.algorithm)).toEqual(
      keys.map((_, i) => (i % 2 === 1 ? 'sm2-sm3' : 'ed25519')),
    );
    let found = 0;
    for (const digest of acknowledged) {
      const response = await fetch(`${node.url}/v1/evidence/${digest}/receipt`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.status, digest).toBe(200);
      const verdict = verifyReceipt(await response.json(), trust as TrustFile);
      expect(verdict.verdict, digest).toBe('VERIFIED');
      found++;
    }
    console.log(
      `kill -9 cycles: ${CYCLES}; deposits attempted: ${attempted}; acknowledged: ${acknowledged.length}; found after restarts: ${found}; audit entries (chain intact after every crash): ${auditEntries}; key rotations asked ${rotationsAsked}, answered ${rotationsAnswered}, in the chain ${keys.length - 1}`,
    );
    expect(acknowledged.length).toBeGreaterThan(CYCLES);
    expect(found).toBe(acknowledged.length);
  }, 600_000);
});
