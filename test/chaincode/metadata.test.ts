/**
 * Fabric finds transactions and their parameter types through decorator metadata. A toolchain
 * that drops it (e.g. a transpiler without emitDecoratorMetadata) produces chaincode that deploys
 * but exposes nothing. This test loads the COMPILED chaincode, exactly what Fabric would run.
 */

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build';

const requireCjs = createRequire(__filename);

interface TxMeta {
  name: string;
  tag: string[];
  parameters: Array<{ name: string; schema: { type: string } }>;
  returns?: { type: string };
}

describe('compiled chaincode metadata', () => {
  let transactions: TxMeta[];
  let info: unknown;

  beforeAll(() => {
    ensureBuilt();
    const entry = path.resolve('dist/chaincode/index.js');
    expect(existsSync(entry)).toBe(true);
    requireCjs('reflect-metadata');
    const chaincode = requireCjs(entry) as { contracts: Array<{ prototype: object; name: string }> };
    expect(chaincode.contracts.map((c) => c.name)).toEqual(['EvidenceContract']);
    const proto = chaincode.contracts[0]!.prototype;
    transactions = Reflect.getMetadata('fabric:transactions', proto) as TxMeta[];
    info = (Reflect.getMetadata('fabric:info', global) as Record<string, { title: string }>)[
      'EvidenceContract'
    ];
  });

  it('declares every transaction with its commit tag', () => {
    const byName = Object.fromEntries(transactions.map((t) => [t.name, t.tag]));
    expect(byName).toEqual({
      depositBatch: ['SUBMIT', 'submitTx'],
      readEvidence: ['EVALUATE'],
      evidenceHistory: ['EVALUATE'],
      annotate: ['SUBMIT', 'submitTx'],
    });
  });

  it('types every parameter as a string (the context parameter is not exposed)', () => {
    const params = Object.fromEntries(transactions.map((t) => [t.name, t.parameters.map((p) => `${p.name}:${p.schema.type}`)]));
    expect(params).toEqual({
      depositBatch: ['batchJson:string'],
      readEvidence: ['digest:string'],
      evidenceHistory: ['digest:string'],
      annotate: ['digest:string', 'annotationJson:string'],
    });
    for (const t of transactions) expect(t.returns).toEqual({ type: 'string' });
  });

  it('carries the contract info', () => {
    expect(info).toMatchObject({ title: 'EvidenceContract' });
  });
});
