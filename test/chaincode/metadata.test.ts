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

const SUBMIT = ['SUBMIT', 'submitTx'];
const EVALUATE = ['EVALUATE'];

/** Every contract, in the order of `contracts`, with each transaction's tag and parameters. */
const EXPECTED: Record<string, Record<string, { tag: string[]; params: string[] }>> = {
  EvidenceContract: {
    depositBatch: { tag: SUBMIT, params: ['batchJson'] },
    readEvidence: { tag: EVALUATE, params: ['digest'] },
    evidenceHistory: { tag: EVALUATE, params: ['digest'] },
    annotate: { tag: SUBMIT, params: ['digest', 'annotationJson'] },
  },
  AnchorContract: {
    recordAnchor: { tag: SUBMIT, params: ['anchorJson'] },
    readAnchor: { tag: EVALUATE, params: ['sourceChainId', 'blockNumber'] },
    latestAnchor: { tag: EVALUATE, params: ['sourceChainId'] },
    anchorCovering: { tag: EVALUATE, params: ['sourceChainId', 'blockNumber'] },
    anchorForks: { tag: EVALUATE, params: ['sourceChainId'] },
  },
  AgreementContract: {
    create: { tag: SUBMIT, params: ['termsJson'] },
    sign: { tag: SUBMIT, params: ['agreementId', 'documentDigest'] },
    confirm: { tag: SUBMIT, params: ['agreementId', 'caseNumber'] },
    recordPayment: {
      tag: SUBMIT,
      params: ['agreementId', 'instalmentIndex', 'amount', 'reference'],
    },
    confirmPayment: {
      tag: SUBMIT,
      params: ['agreementId', 'instalmentIndex', 'amount', 'reference'],
    },
    checkDue: { tag: SUBMIT, params: ['agreementId'] },
    requestEnforcement: { tag: SUBMIT, params: ['agreementId', 'applicationDigest'] },
    acknowledgeFiling: { tag: SUBMIT, params: ['agreementId', 'caseNumber'] },
    reopenMediation: { tag: SUBMIT, params: ['agreementId', 'noteJson'] },
    terminate: { tag: SUBMIT, params: ['agreementId', 'reason'] },
    readAgreement: { tag: EVALUATE, params: ['agreementId'] },
    agreementHistory: { tag: EVALUATE, params: ['agreementId'] },
    agreementsOfParty: { tag: EVALUATE, params: ['org', 'account'] },
  },
};
const CONTRACTS = Object.keys(EXPECTED);

describe('compiled chaincode metadata', () => {
  let transactions: Record<string, TxMeta[]>;
  let info: Record<string, { title: string } | undefined>;

  beforeAll(() => {
    ensureBuilt();
    const entry = path.resolve('dist/chaincode/index.js');
    expect(existsSync(entry)).toBe(true);
    requireCjs('reflect-metadata');
    const chaincode = requireCjs(entry) as {
      contracts: Array<{ prototype: object; name: string }>;
    };
    expect(chaincode.contracts.map((c) => c.name)).toEqual(CONTRACTS);
    transactions = Object.fromEntries(
      chaincode.contracts.map((c) => [
        c.name,
        Reflect.getMetadata('fabric:transactions', c.prototype) as TxMeta[],
      ]),
    );
    info = Reflect.getMetadata('fabric:info', global) as Record<string, { title: string }>;
  });

  it.each(CONTRACTS)('declares every transaction of %s with its commit tag', (contract) => {
    const byName = Object.fromEntries((transactions[contract] ?? []).map((t) => [t.name, t.tag]));
    const expected = Object.fromEntries(
      Object.entries(EXPECTED[contract] ?? {}).map(([name, t]) => [name, t.tag]),
    );
    expect(byName).toEqual(expected);
  });

  it.each(CONTRACTS)(
    'types every parameter of %s as a string (the context parameter is not exposed)',
    (contract) => {
      const params = Object.fromEntries(
        (transactions[contract] ?? []).map((t) => [
          t.name,
          t.parameters.map((p) => `${p.name}:${p.schema.type}`),
        ]),
      );
      const expected = Object.fromEntries(
        Object.entries(EXPECTED[contract] ?? {}).map(([name, t]) => [
          name,
          t.params.map((p) => `${p}:string`),
        ]),
      );
      expect(params).toEqual(expected);
      for (const t of transactions[contract] ?? []) expect(t.returns).toEqual({ type: 'string' });
    },
  );

  it.each(CONTRACTS)('carries the contract info of %s', (contract) => {
    expect(info[contract]).toMatchObject({ title: contract });
  });
});
