/**
 * The page validates receipts and trust files with validators Ajv compiled at build time
 * (scripts/build-web.mjs). They must say exactly what core's run-time validators say, field for
 * field, on good input and on every kind of bad input.
 */

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { receiptSchema } from '../../core/receipt';
import { compileSchema } from '../../core/schema-compiler';
import { toFieldErrors } from '../../core/schema';
import { trustFileSchema } from '../../core/trust';
import { makeAnchoredFixture, makeFixture } from '../support/receipt-factory';

interface BuildWeb {
  BROWSER_SCHEMAS: { id: string }[];
  validatorsSource(options: { esm: boolean }): Promise<string>;
}

const SCRIPT = path.resolve(__dirname, '../../scripts/build-web.mjs');

let built: Readonly<Record<string, ValidateFunction>>;
let script: BuildWeb;

beforeAll(async () => {
  script = (await import(pathToFileURL(SCRIPT).href)) as BuildWeb;
  const source = await script.validatorsSource({ esm: false });
  const module = { exports: {} as { default?: Record<string, ValidateFunction> } };
  new Function('module', 'exports', 'require', source)(
    module,
    module.exports,
    createRequire(SCRIPT),
  );
  built = module.exports.default ?? {};
}, 60_000);

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function sameAnswer(schema: { $id: string }, value: unknown): void {
  const runtime = compileSchema(schema);
  const precompiled = built[schema.$id];
  expect(precompiled, `no build-time validator for ${schema.$id}`).toBeTypeOf('function');
  const ok = runtime(value);
  expect((precompiled as ValidateFunction)(value)).toBe(ok);
  expect(toFieldErrors((precompiled as ValidateFunction).errors)).toEqual(
    toFieldErrors(runtime.errors),
  );
}

const fixture = makeFixture([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
const anchored = makeAnchoredFixture([Buffer.from('anchored')]);
const receipt = fixture.receipts[0] as unknown as Record<string, unknown>;

type Mutation = [string, (r: Record<string, any>) => void]; // eslint-disable-line @typescript-eslint/no-explicit-any

const RECEIPT_MUTATIONS: Mutation[] = [
  ['no record', (r) => delete r.record],
  ['an extra top-level field', (r) => (r.extra = 1)],
  ['version 2', (r) => (r.version = 2)],
  ['a digest in upper case', (r) => (r.record.digests[0] = r.record.digests[0].toUpperCase())],
  ['a phone number as account', (r) => (r.record.depositor.account = '13812345678')],
  ['a negative leaf index', (r) => (r.inclusion.leafIndex = -1)],
  ['a float tree size', (r) => (r.inclusion.treeSize = 1.5)],
  ['a short path hash', (r) => (r.inclusion.path = ['ab'])],
  ['a time without milliseconds', (r) => (r.ledger.time = '2026-11-28T10:00:00Z')],
  ['an unknown signature algorithm', (r) => (r.proof.block.signature.algorithm = 'rsa')],
  ['a block header field of the wrong type', (r) => (r.proof.block.header.number = '7')],
  [
    'many problems at once',
    (r) => {
      delete r.proof.tx.fn;
      r.ledger.kind = 'fabric';
      r.record.depositor = 'someone';
    },
  ],
  ['an array instead of an object', (r) => (r.inclusion = [])],
];

describe('the validators compiled into the page', () => {
  it('are exactly the schemas the build script lists', () => {
    expect(Object.keys(built).sort()).toEqual(script.BROWSER_SCHEMAS.map((s) => s.id).sort());
    expect(script.BROWSER_SCHEMAS.map((s) => s.id).sort()).toEqual(
      [receiptSchema.$id, trustFileSchema.$id].sort(),
    );
  });

  it('accept the receipts core accepts, with and without anchors', () => {
    sameAnswer(receiptSchema, receipt);
    sameAnswer(receiptSchema, anchored.receipts[0]);
  });

  it.each(RECEIPT_MUTATIONS)('name the same fields as core for a receipt with %s', (_, mutate) => {
    const bad = clone(receipt);
    mutate(bad);
    sameAnswer(receiptSchema, bad);
  });

  it('name the same fields as core for anchors that are duplicated or malformed', () => {
    const twice = clone(anchored.receipts[0]) as unknown as Record<string, unknown[]>;
    twice.anchors = [twice.anchors?.[0], twice.anchors?.[0]];
    sameAnswer(receiptSchema, twice);
    const broken = clone(anchored.receipts[0]) as unknown as { anchors: Record<string, unknown>[] };
    (broken.anchors[0] as Record<string, unknown>).headers = 'none';
    sameAnswer(receiptSchema, broken);
  });

  it('judge trust files as core does', () => {
    sameAnswer(trustFileSchema, fixture.trust);
    const bad = clone(fixture.trust) as unknown as { chains: Record<string, unknown>[] };
    (bad.chains[0] as Record<string, unknown>).keys = [];
    (bad.chains[0] as Record<string, unknown>).extra = true;
    sameAnswer(trustFileSchema, bad);
    sameAnswer(trustFileSchema, { type: 'judicial-evidence-trust', version: 1 });
    sameAnswer(trustFileSchema, null);
  });
});
