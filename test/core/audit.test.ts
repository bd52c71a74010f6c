import { describe, expect, it } from 'vitest';
import {
  AUDIT_GENESIS,
  AuditChainChecker,
  GENESIS_ANCHOR,
  auditEntryHash,
  auditKey,
  chainAuditEntry,
  type AuditAnchor,
  type AuditEntry,
} from '../../core/audit';

function chain(count: number, from: AuditAnchor = GENESIS_ANCHOR): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let previous = from;
  for (let i = 0; i < count; i++) {
    const entry = chainAuditEntry(
      {
        type: 'request',
        time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        requestId: `req-${i}`,
        method: 'GET',
        route: '/v1/evidence/:digest',
        params: { digest: `sha256:${'0'.repeat(63)}${i % 10}` },
        principal: { id: 'p1', org: 'Org', account: 'a', role: 'auditor', via: 'api-key' },
        status: 200,
      },
      previous,
    );
    entries.push(entry);
    previous = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}

function check(
  stored: Array<[string, string]>,
  anchor: AuditAnchor = GENESIS_ANCHOR,
  head?: AuditAnchor,
) {
  const checker = new AuditChainChecker(anchor);
  for (const [key, value] of stored) if (!checker.add(key, value)) break;
  return checker.result(head);
}

const stored = (entries: AuditEntry[]): Array<[string, string]> =>
  entries.map((e) => [auditKey(e.seq), JSON.stringify(e)]);

describe('audit hash chain', () => {
  it('links each entry to the previous one, from the genesis', () => {
    const entries = chain(3);
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(entries[0]?.prev).toBe(AUDIT_GENESIS);
    expect(entries[1]?.prev).toBe(entries[0]?.hash);
    expect(auditEntryHash(entries[2] as AuditEntry)).toBe(entries[2]?.hash);
    const last = entries[2] as AuditEntry;
    expect(check(stored(entries), GENESIS_ANCHOR, { seq: 2, hash: last.hash })).toEqual({
      intact: true,
      checked: 3,
      anchor: GENESIS_ANCHOR,
      head: { seq: 2, hash: last.hash },
    });
  });

  it('reports the exact position of an edited, deleted, inserted or reordered entry', () => {
    const entries = chain(10);
    const rows = stored(entries);
    const head = { seq: 9, hash: (entries[9] as AuditEntry).hash };

    const edited = rows.map(([k, v], i): [string, string] =>
      i === 6 ? [k, v.replace('"status":200', '"status":500')] : [k, v],
    );
    expect(check(edited, GENESIS_ANCHOR, head).failure).toEqual({ seq: 6, reason: 'hash' });

    const deleted = rows.filter((_, i) => i !== 4);
    expect(check(deleted, GENESIS_ANCHOR, head).failure).toEqual({ seq: 4, reason: 'sequence' });

    const rehashed = { ...(entries[3] as AuditEntry), status: 404 };
    const forged = { ...rehashed, hash: auditEntryHash(rehashed) };
    const relinked = rows.map(([k, v], i): [string, string] =>
      i === 3 ? [k, JSON.stringify(forged)] : [k, v],
    );
    // A consistent forgery of entry 3 breaks the link from entry 4.
    expect(check(relinked, GENESIS_ANCHOR, head).failure).toEqual({ seq: 4, reason: 'link' });

    const swapped = [...rows];
    [swapped[2], swapped[3]] = [
      [rows[2]?.[0] as string, rows[3]?.[1] as string],
      [rows[3]?.[0] as string, rows[2]?.[1] as string],
    ];
    expect(check(swapped, GENESIS_ANCHOR, head).failure).toEqual({ seq: 2, reason: 'sequence' });

    const garbled = rows.map(([k, v], i): [string, string] =>
      i === 8 ? [k, '{not json'] : [k, v],
    );
    expect(check(garbled, GENESIS_ANCHOR, head).failure).toEqual({ seq: 8, reason: 'unreadable' });

    const truncated = rows.slice(0, 7);
    expect(check(truncated, GENESIS_ANCHOR, head).failure).toEqual({ seq: 7, reason: 'sequence' });
  });

  it('verifies what is left after pruning from the anchor of the last pruned entry', () => {
    const entries = chain(10);
    const pruned = entries[5] as AuditEntry;
    const anchor = { seq: pruned.seq, hash: pruned.hash };
    const rest = stored(entries.slice(6));
    const result = check(rest, anchor, { seq: 9, hash: (entries[9] as AuditEntry).hash });
    expect(result.intact).toBe(true);
    expect(result.checked).toBe(4);
    // Without the anchor the remaining entries do not verify.
    expect(check(rest).failure).toEqual({ seq: 0, reason: 'sequence' });
  });
});
