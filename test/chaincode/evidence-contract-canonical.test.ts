/**
 * What depositBatch writes: the same bytes as the state objects it built before their keys were
 * listed in canonical order (new states now from their records' canonical text), and objects the
 * canonical shortcut takes (core/canonical.ts).
 */

import { describe, expect, it, vi } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson, canonicalJsonReference, isCanonicalShape } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { EvidenceState } from '../../core/evidence-state';
import { EvidenceContract, evidenceKey } from '../../chaincode/evidence-contract';
import { FakeWorld, type FakeCaller } from './fake-context';

/** Every value the contract hands to canonicalBytes, in order. */
const encoded = vi.hoisted(() => [] as unknown[]);

vi.mock('../../core/canonical', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../core/canonical')>();
  return {
    ...actual,
    canonicalBytes: (value: unknown) => {
      encoded.push(value);
      return actual.canonicalBytes(value);
    },
  };
});

const gateway: FakeCaller = { mspId: 'NodeOrg', account: 'gateway', role: 'gateway' };

/** A record as the gateway builds one: the client's key order, the depositor last. */
function record(content: string, account: string): EvidenceRecord {
  const d = digestBytes(Buffer.from(content));
  return {
    size: content.length,
    digests: [d.sm3!, d.sha256],
    mediaType: 'text/plain',
    process: { token: 'tok-1', phase: 'during' },
    depositor: { org: 'PlatformOrg', account },
  };
}

function batchJson(records: EvidenceRecord[]): string {
  const batch = buildBatch(records);
  return canonicalJson({ records: batch.records, root: batch.root });
}

describe('EvidenceContract.depositBatch writes', () => {
  it('the bytes of the states as built before, from objects already in canonical shape', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    const first = [record('one', 'lawyer-1'), record('two', 'lawyer-1')];
    await contract.depositBatch(world.context(gateway), batchJson(first));
    const firstTime = new Date(world.seconds * 1000).toISOString();
    const firstBatch = buildBatch(first);
    const keyOne = evidenceKey(digestBytes(Buffer.from('one')).sha256);
    const keyTwo = evidenceKey(digestBytes(Buffer.from('two')).sha256);
    const created = (leafIndex: number): EvidenceState => ({
      // The order the contract used to list the keys in.
      type: 'evidence',
      record: firstBatch.records[leafIndex]!,
      txId: '1'.padStart(64, '0'),
      time: firstTime,
      batchRoot: firstBatch.root,
      batchSize: 2,
      leafIndex,
      attestations: [],
      annotations: [],
    });
    expect(world.state.get(keyOne)!.toString('utf8')).toBe(canonicalJsonReference(created(0)));
    expect(world.state.get(keyTwo)!.toString('utf8')).toBe(canonicalJsonReference(created(1)));

    world.seconds += 60;
    const second = [record('three', 'lawyer-2'), record('two', 'lawyer-2')];
    await contract.depositBatch(world.context(gateway), batchJson(second));
    const secondBatch = buildBatch(second);
    const attested: EvidenceState = {
      ...created(1),
      attestations: [
        {
          record: secondBatch.records[1]!,
          txId: '2'.padStart(64, '0'),
          time: new Date(world.seconds * 1000).toISOString(),
          batchRoot: secondBatch.root,
          batchSize: 2,
          leafIndex: 1,
        },
      ],
    };
    expect(world.state.get(keyTwo)!.toString('utf8')).toBe(canonicalJsonReference(attested));
    expect(world.events.map((event) => event.payload)).toEqual([
      canonicalJsonReference({ root: firstBatch.root, outcomes: ['created', 'created'] }),
      canonicalJsonReference({ root: secondBatch.root, outcomes: ['created', 'attested'] }),
    ]);

    // The three created states were written from their records' canonical text (the same bytes,
    // checked above), without an encoding of their own; the attested state and the two events
    // went through canonicalBytes, and took the shortcut.
    expect(encoded).toHaveLength(3);
    for (const value of encoded) expect(isCanonicalShape(value)).toBe(true);
  });
});
