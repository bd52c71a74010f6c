/**
 * End to end on the embedded default: the real built node process, the real CLI, real files
 * (one of 50 MiB), a restart, and offline verification inside a network namespace with no
 * interfaces (`unshare -n`), so it provably opens no connection. Then the failures.
 */

import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { ensureBuilt } from '../support/build';
import { cli } from '../support/cli-process';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';
import { makeNodeKey, trustFor } from '../support/receipt-factory';

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 1024 * 1024;
  for (let written = 0; written < bytes; written += chunk) {
    const buffer = randomBytes(Math.min(chunk, bytes - written));
    if (!out.write(buffer))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

type Json = Record<string, unknown>;

describe('embedded node, end to end', () => {
  let dir: string;
  let node: NodeProcess | undefined;
  let files: string[];
  let trustFile: string;

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-node-'));
    files = [];
    for (const [name, size] of [
      ['empty.bin', 0],
      ['contract.pdf', 4096],
      ['chat-log.txt', 777],
      ['video.mp4', 50 * 1024 * 1024 + 13],
    ] as const) {
      const file = path.join(dir, name);
      await writeRandomFile(file, size);
      files.push(file);
    }
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('deposits through the CLI, survives a restart and verifies offline', async () => {
    const dataDir = path.join(dir, 'data');
    node = await startNode({ dataDir });
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });

    const deposit = await cli(['deposit', ...files, '--gateway', node.url, '--key', key, '--json']);
    expect(deposit.code, deposit.stderr).toBe(0);
    for (const file of files) await fs.access(`${file}.receipt.json`);

    trustFile = path.join(dir, 'trust.json');
    const fetched = await cli(['trust', 'fetch', '--gateway', node.url, '--out', trustFile]);
    expect(fetched.code, fetched.stderr).toBe(0);

    const before = JSON.parse(await fs.readFile(`${files[1]}.receipt.json`, 'utf8')) as Json;
    expect(await node.stop()).toBe(0);
    node = await startNode({ dataDir });
    const digest = ((before.record as Json).digests as string[])[0]!;
    const again = await fetch(`${node.url}/v1/evidence/${digest}/receipt`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(before);
    await node.stop();
    node = undefined;

    for (const file of files) {
      const result = await cli(
        ['verify', file, '--receipt', `${file}.receipt.json`, '--trust', trustFile, '--json'],
        {
          offline: true,
        },
      );
      expect(result.code, result.stderr + result.stdout).toBe(0);
      expect((JSON.parse(result.stdout) as Json).verdict).toBe('VERIFIED');
    }
  }, 300_000);

  it('verifies a case folder of those exhibits at once, offline, and names the altered one', async () => {
    const caseDir = path.join(dir, 'case');
    await fs.mkdir(caseDir);
    for (const file of files) {
      await fs.copyFile(file, path.join(caseDir, path.basename(file)));
      await fs.copyFile(
        `${file}.receipt.json`,
        path.join(caseDir, `${path.basename(file)}.receipt.json`),
      );
    }
    const all = await cli(['verify-all', caseDir, '--trust', trustFile, '--json'], {
      offline: true,
    });
    expect(all.code, all.stderr + all.stdout).toBe(0);
    expect((JSON.parse(all.stdout) as Json).counts).toEqual({ VERIFIED: files.length });

    const altered = path.join(caseDir, 'chat-log.txt');
    const bytes = await fs.readFile(altered);
    bytes[100] = (bytes[100] as number) ^ 1;
    await fs.writeFile(altered, bytes);
    const after = await cli(['verify-all', caseDir, '--trust', trustFile, '--json'], {
      offline: true,
    });
    expect(after.code).toBe(1);
    const items = (JSON.parse(after.stdout) as { items: Json[] }).items;
    expect(items.filter((item) => item.verdict !== 'VERIFIED')).toEqual([
      expect.objectContaining({ file: 'chat-log.txt', verdict: 'MISMATCH' }),
    ]);
  }, 120_000);

  it('acknowledges a bulk deposit without receipts, then gives them by transaction; all verify offline', async () => {
    const dataDir = path.join(dir, 'data');
    node = await startNode({ dataDir });
    const key = await createKey(node.url, await adminKey(dataDir), {
      org: 'PlatformOrg',
      account: 'bulk-platform',
      role: 'platform',
    });
    const bulkDir = path.join(dir, 'bulk');
    await fs.mkdir(bulkDir);
    const contents = Array.from({ length: 300 }, (_, i) => randomBytes(200 + i));
    const items = contents.map((content) => {
      const digests = digestBytes(content);
      return { digests: [digests.sha256, digests.sm3] };
    });
    const acked = await fetch(`${node.url}/v1/evidence/batch?receipts=none`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    expect(acked.status).toBe(200);
    const { results } = (await acked.json()) as { results: { digest: string; txId: string }[] };
    const txIds = [...new Set(results.map((r) => r.txId))];
    const byDigest = new Map<string, Json>();
    for (const txId of txIds) {
      const response = await fetch(`${node.url}/v1/transactions/${txId}/receipts`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.status).toBe(200);
      for (const receipt of ((await response.json()) as { receipts: Json[] }).receipts)
        byDigest.set(((receipt.record as Json).digests as string[])[0]!, receipt);
    }
    expect(byDigest.size).toBe(contents.length);
    for (const [index, content] of contents.entries()) {
      const name = path.join(bulkDir, `exhibit-${index}.bin`);
      await fs.writeFile(name, content);
      const receipt = byDigest.get(results[index]!.digest);
      await fs.writeFile(`${name}.receipt.json`, JSON.stringify(receipt));
    }
    await node.stop();
    node = undefined;
    const all = await cli(['verify-all', bulkDir, '--trust', trustFile, '--json'], {
      offline: true,
    });
    expect(all.code, all.stderr + all.stdout).toBe(0);
    expect((JSON.parse(all.stdout) as Json).counts).toEqual({ VERIFIED: contents.length });
  }, 120_000);

  it('gives MISMATCH for one changed byte in the file', async () => {
    const original = files[1]!;
    const changed = path.join(dir, 'changed.pdf');
    const bytes = await fs.readFile(original);
    bytes[100] = bytes[100]! ^ 0x01;
    await fs.writeFile(changed, bytes);
    const result = await cli(
      ['verify', changed, '--receipt', `${original}.receipt.json`, '--trust', trustFile, '--json'],
      {
        offline: true,
      },
    );
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as Json).verdict).toBe('MISMATCH');
  });

  it('gives a non-VERIFIED verdict for a change to any part of a receipt', async () => {
    const file = files[2]!;
    const receipt = JSON.parse(await fs.readFile(`${file}.receipt.json`, 'utf8')) as Json;
    const flipHex = (text: string) => text.slice(0, -1) + (text.endsWith('0') ? '1' : '0');
    const mutations: Record<string, (r: Json) => void> = {
      record: (r) =>
        ((r.record as Json).depositor = { org: 'PlatformOrg', account: 'someone-else' }),
      path: (r) => {
        const inclusion = r.inclusion as Json;
        const p = inclusion.path as string[];
        if (p.length === 0) inclusion.leafIndex = 1;
        else p[0] = flipHex(p[0]!);
      },
      root: (r) => ((r.inclusion as Json).root = flipHex((r.inclusion as Json).root as string)),
      block: (r) => ((((r.proof as Json).block as Json).header as Json).number = 999),
      blockTime: (r) =>
        ((((r.proof as Json).block as Json).header as Json).time = '2020-01-01T00:00:00.000Z'),
      signature: (r) => {
        const signature = ((r.proof as Json).block as Json).signature as Json;
        const value = Buffer.from(signature.value as string, 'base64');
        value[5] = value[5]! ^ 0x80;
        signature.value = value.toString('base64');
      },
      txTime: (r) => ((r.ledger as Json).time = '2030-01-01T00:00:00.000Z'),
    };
    for (const [name, mutate] of Object.entries(mutations)) {
      const copy = structuredClone(receipt);
      mutate(copy);
      const mutated = path.join(dir, `mutated-${name}.json`);
      await fs.writeFile(mutated, JSON.stringify(copy));
      const result = await cli(
        ['verify', file, '--receipt', mutated, '--trust', trustFile, '--json'],
        { offline: true },
      );
      expect(result.code, name).toBe(1);
      const verdict = (JSON.parse(result.stdout) as Json).verdict;
      expect(verdict, name).not.toBe('VERIFIED');
      expect(['PROOF_INVALID', 'MISMATCH', 'UNTRUSTED'], name).toContain(verdict);
    }
  });

  it('gives UNTRUSTED with a trust file that pins another key', async () => {
    const file = files[0]!;
    const receipt = JSON.parse(await fs.readFile(`${file}.receipt.json`, 'utf8')) as {
      ledger: { chainId: string };
    };
    const other = path.join(dir, 'other-trust.json');
    await fs.writeFile(other, JSON.stringify(trustFor(receipt.ledger.chainId, makeNodeKey())));
    const result = await cli(
      ['verify', file, '--receipt', `${file}.receipt.json`, '--trust', other, '--json'],
      {
        offline: true,
      },
    );
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as Json).verdict).toBe('UNTRUSTED');
  });
});
