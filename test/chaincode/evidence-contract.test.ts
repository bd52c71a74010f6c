import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { Annotation, EvidenceState, HistoryEntry } from '../../core/evidence-state';
import { EvidenceContract, evidenceKey } from '../../chaincode/evidence-contract';
import { FakeWorld, type FakeCaller } from './fake-context';

const gateway: FakeCaller = { mspId: 'NodeOrg', account: 'gateway', role: 'gateway' };
const court: FakeCaller = { mspId: 'CourtOrg', account: 'judge-1', role: 'court' };

function record(content: string, account = 'lawyer-1', org = 'PlatformOrg'): EvidenceRecord {
  const d = digestBytes(Buffer.from(content));
  return { digests: [d.sm3!, d.sha256], depositor: { org, account } };
}

function batchJson(records: EvidenceRecord[]): string {
  const batch = buildBatch(records);
  return canonicalJson({ records: batch.records, root: batch.root });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (
      /^([A-Z_]+):/.exec((error as Error).message)?.[1] ?? `untyped: ${(error as Error).message}`
    );
  }
  return 'no error';
}

describe('EvidenceContract.depositBatch', () => {
  it('stores each record with its leaf position and returns the batch root', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    const records = [record('one'), record('two'), record('three')];
    const result = JSON.parse(
      await contract.depositBatch(world.context(gateway), batchJson(records)),
    ) as {
      root: string;
      size: number;
    };
    expect(result).toEqual({ root: buildBatch(records).root, size: 3 });
    const key = evidenceKey(digestBytes(Buffer.from('two')).sha256);
    const state = JSON.parse(world.state.get(key)!.toString()) as EvidenceState;
    expect(state.leafIndex).toBe(1);
    expect(state.batchSize).toBe(3);
    expect(state.time).toBe(new Date(world.seconds * 1000).toISOString());
    expect(state.record.digests[0]).toMatch(/^sha256:/);
    expect(JSON.parse(world.events[0]!.payload)).toEqual({
      root: result.root,
      outcomes: ['created', 'created', 'created'],
    });
  });

  it('is idempotent for the same principal and attests for another, keeping the first time', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    await contract.depositBatch(world.context(gateway), batchJson([record('x')]));
    const firstTime = new Date(world.seconds * 1000).toISOString();
    world.seconds += 60;
    await contract.depositBatch(world.context(gateway), batchJson([record('x')]));
    await contract.depositBatch(world.context(gateway), batchJson([record('x', 'lawyer-2')]));
    await contract.depositBatch(world.context(gateway), batchJson([record('x', 'lawyer-2')]));
    const outcomes = world.events.map(
      (e) => (JSON.parse(e.payload) as { outcomes: string[] }).outcomes[0],
    );
    expect(outcomes).toEqual(['created', 'existing', 'attested', 'existing']);
    const state = JSON.parse(
      await contract.readEvidence(world.context(gateway), digestBytes(Buffer.from('x')).sha256),
    ) as EvidenceState;
    expect(state.time).toBe(firstTime);
    expect(state.attestations).toHaveLength(1);
    expect(state.attestations[0]!.record.depositor.account).toBe('lawyer-2');
  });

  it('refuses a root that does not match the records', async () => {
    const world = new FakeWorld();
    const batch = buildBatch([record('a')]);
    const other = buildBatch([record('b')]);
    const code = await codeOf(
      new EvidenceContract().depositBatch(
        world.context(gateway),
        canonicalJson({ records: batch.records, root: other.root }),
      ),
    );
    expect(code).toBe('BATCH_ROOT_MISMATCH');
    expect(world.state.size).toBe(0);
  });

  it('refuses malformed arguments with every field named', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    expect(await codeOf(contract.depositBatch(world.context(gateway), '{not json'))).toBe(
      'INVALID_JSON',
    );
    expect(await codeOf(contract.depositBatch(world.context(gateway), '{"records":[]}'))).toBe(
      'VALIDATION_FAILED',
    );
    const bad = {
      records: [{ digests: ['md5:00'], depositor: { org: 'A', account: 'b' } }],
      root: `sha256:${'0'.repeat(64)}`,
    };
    try {
      await contract.depositBatch(world.context(gateway), JSON.stringify(bad));
      expect.fail('accepted a bad record');
    } catch (error) {
      expect((error as Error).message).toMatch(/^VALIDATION_FAILED: .*"\/records\/0\/digests\/0"/);
    }
  });

  it('refuses duplicate digests in one batch', async () => {
    const world = new FakeWorld();
    const r = record('dup');
    const json = canonicalJson({ records: [r, r], root: `sha256:${'0'.repeat(64)}` });
    expect(await codeOf(new EvidenceContract().depositBatch(world.context(gateway), json))).toBe(
      'DUPLICATE_IN_BATCH',
    );
  });

  it('lets a non-gateway caller deposit only for its own organisation', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    const platform: FakeCaller = { mspId: 'PlatformOrg', account: 'svc', role: 'platform' };
    expect(
      await codeOf(contract.depositBatch(world.context(platform), batchJson([record('p')]))),
    ).toBe('no error');
    expect(
      await codeOf(
        contract.depositBatch(world.context(platform), batchJson([record('q', 'x', 'OtherOrg')])),
      ),
    ).toBe('DEPOSITOR_MISMATCH');
  });

  it('refuses callers without a deposit role', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    for (const role of [null, 'auditor', 'payment']) {
      const caller: FakeCaller = { mspId: 'PlatformOrg', account: 'x', role };
      expect(
        await codeOf(contract.depositBatch(world.context(caller), batchJson([record('r')]))),
      ).toBe('FORBIDDEN');
    }
  });
});

describe('EvidenceContract.annotate', () => {
  it('appends court annotations and never edits earlier ones', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    const digest = digestBytes(Buffer.from('held')).sha256;
    await contract.depositBatch(world.context(gateway), batchJson([record('held')]));
    const first = JSON.parse(
      await contract.annotate(
        world.context(court),
        digest,
        canonicalJson({ kind: 'court-hold', reference: '(2026)京0491民初123号' }),
      ),
    ) as Annotation;
    expect(first.by).toEqual({ org: 'CourtOrg', account: 'judge-1' });
    await contract.annotate(world.context(court), digest, canonicalJson({ kind: 'release' }));
    const state = JSON.parse(
      await contract.readEvidence(world.context(gateway), digest),
    ) as EvidenceState;
    expect(state.annotations.map((a) => a.kind)).toEqual(['court-hold', 'release']);
    const history = JSON.parse(
      await contract.evidenceHistory(world.context(gateway), digest),
    ) as HistoryEntry[];
    expect(history).toHaveLength(3);
    expect(history[1]!.value!.annotations).toHaveLength(1);
  });

  it('refuses non-court roles, unknown digests and bad annotations with codes', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    const digest = digestBytes(Buffer.from('z')).sha256;
    const lawyer: FakeCaller = { mspId: 'PlatformOrg', account: 'l', role: 'depositor' };
    expect(await codeOf(contract.annotate(world.context(lawyer), digest, '{"kind":"note"}'))).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(contract.annotate(world.context(court), digest, '{"kind":"note"}'))).toBe(
      'EVIDENCE_NOT_FOUND',
    );
    await contract.depositBatch(world.context(gateway), batchJson([record('z')]));
    expect(await codeOf(contract.annotate(world.context(court), digest, '{"kind":"erase"}'))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      await codeOf(contract.annotate(world.context(court), 'sha256:XYZ', '{"kind":"note"}')),
    ).toBe('VALIDATION_FAILED');
  });
});

describe('EvidenceContract.readEvidence', () => {
  it('returns null for an absent digest and refuses an sm3 key', async () => {
    const world = new FakeWorld();
    const contract = new EvidenceContract();
    expect(await contract.readEvidence(world.context(gateway), `sha256:${'a'.repeat(64)}`)).toBe(
      'null',
    );
    expect(
      await codeOf(contract.readEvidence(world.context(gateway), `sm3:${'a'.repeat(64)}`)),
    ).toBe('VALIDATION_FAILED');
  });
});
