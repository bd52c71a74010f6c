/**
 * The deposits the benchmark sends: unique, well-formed evidence items, cheap to make so the load
 * generator spends its CPU on HTTP and not on hashing. One SHA-512 of a random run prefix and a
 * counter gives both digests (its two halves): unique, and as incompressible as real digests, which
 * matters for the bytes stored per record. The node never sees file content, so it cannot tell.
 */

import { createHash, randomBytes } from 'node:crypto';
import {
  createEvidenceService,
  type EvidenceService,
  type EvidenceServiceOptions,
} from '../gateway/evidence-service';
import type { Principal } from '../gateway/auth/api-keys';
import type { Ledger } from '../gateway/ledger/ledger';

/** Who the in-process figures deposit as. */
export const BENCH_PRINCIPAL: Principal = {
  keyId: 'bench',
  org: 'BenchPlatform',
  account: 'bench',
  role: 'platform',
};

/** A ledger with the evidence service over it, as the node runs them, closed together. */
export interface Store {
  readonly ledger: Ledger;
  readonly service: EvidenceService;
  close(): Promise<void>;
}

/** The evidence service of organisation `BenchNode` over `ledger`, with `options`. */
export function storeOver(
  ledger: Ledger,
  options: Omit<EvidenceServiceOptions, 'ledger' | 'org'>,
): Store {
  const service = createEvidenceService({ ledger, org: 'BenchNode', ...options });
  return {
    ledger,
    service,
    close: async () => {
      await service.close();
      await ledger.close();
    },
  };
}

export interface ItemSource {
  /** One evidence item as the deposit API takes it. */
  next(): { digests: [string, string]; size: number };
  /** `count` items. */
  take(count: number): Array<{ digests: [string, string]; size: number }>;
}

/** Items whose digests no other source made (a fresh random prefix per source). */
export function createItemSource(): ItemSource {
  const run = randomBytes(16).toString('hex');
  let counter = 0;
  const next = () => {
    counter += 1;
    const hex = createHash('sha512').update(`${run}:${counter}`).digest('hex');
    return {
      digests: [`sha256:${hex.slice(0, 64)}`, `sm3:${hex.slice(64)}`] as [string, string],
      size: 1_000_000 + (counter % 1_000_000),
    };
  };
  return { next, take: (count) => Array.from({ length: count }, next) };
}
