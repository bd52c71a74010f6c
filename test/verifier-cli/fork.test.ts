/**
 * `evidence fork`: a replica's fork proof checked offline against pinned trust files (core/fork.ts):
 * proven only for two different blocks of one chain and height, each signed by a pinned key valid
 * at its time; anything else is not proven (exit 1) with the reason, and a file that is not a
 * proof is an input error naming its bad fields (exit 2). Two receipts of one chain and height
 * whose signed blocks differ make such a proof themselves (`--out` writes it). The fetch it is
 * given fails the test.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { blockHash, type BlockHeader } from '../../core/block';
import { FORK_PROOF_TYPE, type ForkProof } from '../../core/fork';
import type { TrustFile } from '../../core/trust';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixture, makeNodeKey, signBlock, trustFor } from '../support/receipt-factory';
import { runCli, tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

const CHAIN = 'platform-0123456789ab';
const key = makeNodeKey();
const other = makeNodeKey();
const trust = trustFor(CHAIN, key, 'Hangzhou Evidence Platform');
temp.write('trust.json', JSON.stringify(trust));
temp.write('other-trust.json', JSON.stringify(trustFor(CHAIN, other)));

const header = (time: string, number = 12): BlockHeader => ({
  type: 'block',
  chainId: CHAIN,
  number,
  previousHash: `sha256:${'a'.repeat(64)}`,
  dataHash: `sha256:${'b'.repeat(64)}`,
  txCount: 1,
  time,
});

function proof(changes: Partial<ForkProof> = {}): ForkProof {
  return {
    type: FORK_PROOF_TYPE,
    chainId: CHAIN,
    number: 12,
    held: signBlock(header('2026-11-20T08:00:00.000Z'), key),
    served: signBlock(header('2026-11-21T09:30:00.000Z'), key),
    detectedAt: '2026-11-21T09:31:00.000Z',
    ...changes,
  };
}

async function check(name: string, value: unknown, ...args: string[]) {
  temp.write(name, JSON.stringify(value));
  return runCli(['fork', name, '--trust', 'trust.json', ...args], { cwd: temp.dir });
}

describe('evidence fork', () => {
  it('proves two different blocks at one height signed by the pinned key (exit 0)', async () => {
    const good = proof();
    const run = await check('proof.json', good);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('PROVEN: a chain signed two histories');
    expect(run.stdout).toContain(blockHash(good.held.header));
    expect(run.stdout).toContain(blockHash(good.served.header));
    expect(run.stdout).toContain(`signed by pinned key ${key.keyId}`);
    const json = await check('proof.json', good, '--json');
    expect(json.json()).toEqual({
      proven: true,
      chainId: CHAIN,
      number: 12,
      keys: [key.keyId, key.keyId],
      detail: expect.stringContaining('two histories'),
    });
  });

  it('does not prove what is not a fork of pinned keys (exit 1), and says why', async () => {
    const held = signBlock(header('2026-11-20T08:00:00.000Z'), key);
    const cases: Array<[string, ForkProof, string]> = [
      ['same block twice', proof({ served: held, held }), 'the same block'],
      [
        'another height',
        proof({ served: signBlock(header('2026-11-21T09:30:00.000Z', 13), key) }),
        'not block 12',
      ],
      [
        'an unpinned key',
        proof({ served: signBlock(header('2026-11-21T09:30:00.000Z'), other) }),
        'not pinned',
      ],
      [
        'a changed header',
        proof({
          served: { ...proof().served, header: { ...proof().served.header, txCount: 2 } },
        }),
        'does not verify',
      ],
    ];
    for (const [what, value, why] of cases) {
      const run = await check('not.json', value);
      expect(run.status, what).toBe(1);
      expect(run.stdout, what).toContain('NOT PROVEN');
      expect(run.stdout, what).toContain(why);
    }
    // Against a trust file that pins another key for the chain, a true fork is not proven either.
    temp.write('proof.json', JSON.stringify(proof()));
    const foreign = await runCli(['fork', 'proof.json', '--trust', 'other-trust.json', '--json'], {
      cwd: temp.dir,
    });
    expect(foreign.status).toBe(1);
    expect(foreign.json()).toMatchObject({ proven: false });
  });

  it('refuses a file that is not a fork proof, naming every bad field (exit 2), and needs --trust', async () => {
    const bad = { ...proof(), type: 'something', number: -1 } as unknown;
    const run = await check('bad.json', bad);
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['VALIDATION_FAILED']);
    expect(run.stderr).toContain('/type');
    expect(run.stderr).toContain('/number');
    const noTrust = await runCli(['fork', 'bad.json'], { cwd: temp.dir });
    expect(noTrust.status).toBe(2);
    expect(noTrust.errorCodes).toEqual(['USAGE']);
    const missing = await runCli(['fork', 'missing.json', '--trust', 'trust.json'], {
      cwd: temp.dir,
    });
    expect(missing.status).toBe(3);
  });

  it('proves a fork whose two blocks are signed by two keys pinned for the chain', async () => {
    const merged: TrustFile = {
      ...trust,
      chains: [
        {
          ...trust.chains[0]!,
          keys: [...trust.chains[0]!.keys, ...trustFor(CHAIN, other).chains[0]!.keys],
        },
      ],
    };
    temp.write('both.json', JSON.stringify(merged));
    const value = proof({ served: signBlock(header('2026-11-21T09:30:00.000Z'), other) });
    temp.write('rotated.json', JSON.stringify(value));
    const run = await runCli(['fork', 'rotated.json', '--trust', 'both.json', '--json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(0);
    expect(run.json()).toMatchObject({ proven: true, keys: [key.keyId, other.keyId] });
  });

  describe('from two receipts', () => {
    /** A receipt of `CHAIN` in block `number` at `time`, signed by `signer`. */
    const receipt = (name: string, time: string, number = 12, signer = key) => {
      const [made] = makeFixture(1, {
        chainId: CHAIN,
        key: signer,
        blockNumber: number,
        time,
      }).receipts;
      temp.write(name, JSON.stringify(made));
      return made!;
    };

    it('proves a fork from two receipts whose blocks at one height differ, and writes the proof', async () => {
      const a = receipt('a.receipt.json', '2026-11-20T08:00:00.000Z');
      const b = receipt('b.receipt.json', '2026-11-21T09:30:00.000Z');
      const run = await runCli(
        ['fork', 'a.receipt.json', 'b.receipt.json', '--trust', 'trust.json', '--out', 'made.json'],
        { cwd: temp.dir },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('PROVEN: a chain signed two histories');
      expect(run.stdout).toContain(`first    ${blockHash(a.proof.block.header)}`);
      expect(run.stdout).toContain(`second   ${blockHash(b.proof.block.header)}`);
      expect(run.stdout).toContain('Proof written to made.json');
      const made = JSON.parse(readFileSync(join(temp.dir, 'made.json'), 'utf8')) as ForkProof;
      expect(made).toMatchObject({
        type: FORK_PROOF_TYPE,
        chainId: CHAIN,
        number: 12,
        held: a.proof.block,
        served: b.proof.block,
      });
      // The written proof stands on its own, as a replica's does.
      const again = await runCli(['fork', 'made.json', '--trust', 'trust.json', '--json'], {
        cwd: temp.dir,
      });
      expect(again.status).toBe(0);
      expect(again.json()).toMatchObject({ proven: true, number: 12 });
    });

    it('proves nothing from receipts of two heights, one block, or an unpinned key, and writes nothing', async () => {
      receipt('a.receipt.json', '2026-11-20T08:00:00.000Z');
      receipt('later.receipt.json', '2026-11-21T09:30:00.000Z', 13);
      receipt('foreign.receipt.json', '2026-11-21T09:30:00.000Z', 12, other);
      const cases: Array<[string, string, string]> = [
        ['later.receipt.json', 'receipts of different heights prove no fork', 'two heights'],
        ['a.receipt.json', 'the same block', 'one receipt twice'],
        ['foreign.receipt.json', 'not pinned', 'an unpinned key'],
      ];
      for (const [second, why, what] of cases) {
        const run = await runCli(
          ['fork', 'a.receipt.json', second, '--trust', 'trust.json', '--out', 'none.json'],
          { cwd: temp.dir },
        );
        expect(run.status, what).toBe(1);
        expect(run.stdout, what).toContain('NOT PROVEN');
        expect(run.stdout, what).toContain(why);
        expect(existsSync(join(temp.dir, 'none.json')), what).toBe(false);
      }
    });

    it('names a file that is not a receipt (exit 2), and --out without two receipts is a usage error', async () => {
      receipt('a.receipt.json', '2026-11-20T08:00:00.000Z');
      temp.write('junk.json', JSON.stringify({ type: 'judicial-evidence-receipt', version: 2 }));
      const junk = await runCli(['fork', 'a.receipt.json', 'junk.json', '--trust', 'trust.json'], {
        cwd: temp.dir,
      });
      expect(junk.status).toBe(2);
      expect(junk.errorCodes).toEqual(['VALIDATION_FAILED']);
      expect(junk.stderr).toContain('junk.json');
      expect(junk.stderr).toContain('/version');
      temp.write('proof.json', JSON.stringify(proof()));
      const out = await runCli(['fork', 'proof.json', '--trust', 'trust.json', '--out', 'x.json'], {
        cwd: temp.dir,
      });
      expect(out.status).toBe(2);
      expect(out.errorCodes).toEqual(['USAGE']);
      const three = await runCli(
        ['fork', 'a.receipt.json', 'a.receipt.json', 'proof.json', '--trust', 'trust.json'],
        { cwd: temp.dir },
      );
      expect(three.status).toBe(2);
      expect(three.errorCodes).toEqual(['USAGE']);
    });
  });
});
