/**
 * What every contract shares: the caller as the client identity shows it, role checks, chain time
 * from the transaction timestamp, and the rule that errors leave as `CODE: message` text (the only
 * thing Fabric carries back to the client).
 */

import type { Context } from 'fabric-contract-api';
import { AccessError, isEvidenceError, type EvidenceError } from '../core/errors';
import type { Role } from '../core/evidence-state';

/** The submitting identity, reduced to what contracts decide on. */
export interface Caller {
  readonly mspId: string;
  /** Account name: the `account` attribute, else the certificate's common name, else the raw id. */
  readonly account: string;
  readonly role: string;
}

/** Reads the caller from the client identity. The role comes from the `role` attribute. */
export function callerOf(ctx: Context): Caller {
  const identity = ctx.clientIdentity;
  const mspId = identity.getMSPID();
  const role = identity.getAttributeValue('role') ?? '';
  const id = identity.getID();
  const account = identity.getAttributeValue('account') ?? commonName(id) ?? id;
  return { mspId, account, role };
}

/** `x509::/C=../CN=name::/...` (Fabric's getID form) -> `name`. */
function commonName(id: string): string | undefined {
  const match = /^x509::.*?CN=([^/:]+)/.exec(id);
  return match?.[1];
}

/**
 * @throws AccessError `FORBIDDEN` unless the caller has one of `roles`.
 */
export function requireRole(caller: Caller, roles: readonly Role[], action: string): void {
  if (!(roles as readonly string[]).includes(caller.role)) {
    throw new AccessError(
      'FORBIDDEN',
      `${action} needs role ${roles.join(' or ')}, caller has "${caller.role || 'none'}"`,
    );
  }
}

/** Chain time of the transaction as RFC 3339 UTC with milliseconds. Deterministic across peers. */
export function txTime(ctx: Context): string {
  const stamp = ctx.stub.getTxTimestamp();
  const seconds = Number(String(stamp.seconds));
  const millis = Math.floor(Number(stamp.nanos ?? 0) / 1_000_000);
  return new Date(seconds * 1000 + millis).toISOString();
}

/** An Error whose message is the wire form of an EvidenceError, which is what crosses Fabric. */
export class ContractError extends Error {
  readonly code: string;

  constructor(error: EvidenceError) {
    super(error.toWire());
    this.name = 'ContractError';
    this.code = error.code;
  }
}

/** Runs a transaction body so that our errors leave with their code first. */
export async function guarded<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ContractError) throw error;
    if (isEvidenceError(error)) throw new ContractError(error);
    throw error;
  }
}
