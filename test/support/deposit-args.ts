/** Arguments of `evidence.depositBatch` for ledger tests: one record whose file is `content`. */

import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import type { LedgerIdentity } from '../../gateway/ledger/ledger';

/** Who the gateway submits deposits as. */
export const GATEWAY_IDENTITY: LedgerIdentity = {
  mspId: 'NodeOrg',
  id: 'gateway',
  role: 'gateway',
};

export function depositArgs(content: string): string[] {
  const d = digestBytes(Buffer.from(content));
  const batch = buildBatch([
    { digests: [d.sha256, d.sm3!], depositor: { org: 'PlatformOrg', account: 'a-1' } },
  ]);
  return [canonicalJson({ records: batch.records, root: batch.root })];
}
