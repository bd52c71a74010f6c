/**
 * What the agreement routes do, without HTTP: submit each transition of the `agreement` contract
 * as the calling principal (so the chaincode checks roles and parties again), publish every
 * committed transition to the event stream, keep the scheduler's watch list current, and build,
 * deposit and link the enforcement application.
 *
 * Who may read an agreement is decided here, not in the chaincode (docs/agreements.md): its
 * parties, its creator, its mediation body's organisation, and roles `court` and `admin`. To
 * anyone else an agreement does not exist (`AGREEMENT_NOT_FOUND`), so ids cannot be probed.
 */

import {
  AGREEMENT_EVENT,
  AGREEMENT_STATUSES,
  agreementIdOf,
  agreementKey,
  nextDueCheck,
  refusalError,
  transition,
  type AgreementActionName,
  type AgreementHistoryEntry,
  type AgreementState,
  type ReopenNote,
  type TransitionEvent,
} from '../core/agreement';
import { agreementTimeline, type TimelineEntry } from '../core/agreement-timeline';
import { canonicalJson } from '../core/canonical';
import type { Digest } from '../core/digest';
import { AccessError, AgreementError, LedgerError, StateError } from '../core/errors';
import type { Receipt } from '../core/receipt';
import type { Principal } from './auth/api-keys';
import { createAgreementEvents, type AgreementEvents, type Audience } from './agreement-events';
import { createAgreementScheduler, type AgreementScheduler } from './agreement-scheduler';
import {
  createAgreementStore,
  type AgreementStore,
  type StoredApplication,
} from './agreement-store';
import {
  APPLICATION_MEDIA_TYPE,
  buildEnforcementApplication,
  type ApplicationInput,
} from './enforcement-application';
import type { EvidenceService } from './evidence-service';
import type { CallOptions, Committed, Ledger, LedgerIdentity } from './ledger/ledger';
import { identityOf } from './receipts';
import type { AgreementStreamEvent } from './agreement-events';
import type { StoreCopy } from './storage/store-copy';

export const AGREEMENT_CONTRACT = 'agreement';
/** Agreements a watch list is rebuilt from at most (one keys-only scan). */
const MAX_REBUILD = 1_000_000;

/** Who is looking: an API key's principal, reduced to what visibility depends on. */
export interface Viewer {
  readonly org: string;
  readonly account: string;
  readonly role: string;
}

/** Roles that see every agreement and every event. */
export const OVERSIGHT_ROLES: readonly string[] = ['court', 'admin'];

/** The answer to a transition: the state after it, and the transition (`null`: nothing changed). */
export interface Transitioned {
  readonly agreement: AgreementState;
  readonly transition: AgreementStreamEvent | null;
}

export interface HistoryItem extends AgreementHistoryEntry {
  /** The action that wrote this value, recovered from the values (core/agreement-timeline.ts). */
  readonly action: TimelineEntry['action'];
}

export interface AgreementWithHistory {
  readonly agreement: AgreementState;
  readonly history: readonly HistoryItem[];
}

export interface AgreementSummary {
  readonly agreementId: string;
  readonly status: AgreementState['status'];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** An enforcement application as the API returns it. */
export interface ApplicationView {
  readonly agreementId: string;
  readonly digests: readonly Digest[];
  readonly mediaType: string;
  readonly size: number;
  /** The deposited bytes, base64: decode to the file a judge verifies. */
  readonly document: string;
  /** A rendering for people; not the evidence. */
  readonly text: string;
  readonly receipt: Receipt;
}

export interface Enforced extends Transitioned {
  readonly application: ApplicationView;
}

export interface PaymentInput {
  readonly instalmentIndex: number;
  readonly amount: number;
  readonly reference: string;
}

export interface AgreementService {
  readonly events: AgreementEvents;
  readonly scheduler: AgreementScheduler;
  /** @throws chaincode errors with their codes (docs/agreements.md), LedgerError `LEDGER_*`. */
  create(terms: unknown, principal: Principal): Promise<Transitioned>;
  sign(id: string, documentDigest: string, principal: Principal): Promise<Transitioned>;
  confirm(id: string, caseNumber: string, principal: Principal): Promise<Transitioned>;
  recordPayment(id: string, payment: PaymentInput, principal: Principal): Promise<Transitioned>;
  confirmPayment(id: string, payment: PaymentInput, principal: Principal): Promise<Transitioned>;
  /** `checkDue` as `principal`, or as the gateway itself when none is given (the scheduler). */
  checkDue(id: string, principal?: Principal): Promise<Transitioned>;
  /**
   * Applies chain time if the agreement is still active, builds the enforcement application,
   * deposits its digests as evidence (as `principal`), stores it, and submits
   * `requestEnforcement` with its sha256 digest. Refusals are decided before anything is
   * deposited, with the chaincode's own rules (core's `transition`).
   */
  requestEnforcement(id: string, principal: Principal): Promise<Enforced>;
  acknowledgeFiling(id: string, caseNumber: string, principal: Principal): Promise<Transitioned>;
  reopenMediation(id: string, note: ReopenNote, principal: Principal): Promise<Transitioned>;
  terminate(id: string, reason: string, principal: Principal): Promise<Transitioned>;
  /** The agreement and its whole history, or `undefined` (unknown, or not visible to `viewer`). */
  read(id: string, viewer: Principal): Promise<AgreementWithHistory | undefined>;
  /**
   * The agreements of party (org, account), oldest first.
   * @throws AccessError `FORBIDDEN` unless `viewer` is that party or has an oversight role.
   */
  ofParty(org: string, account: string, viewer: Principal): Promise<AgreementSummary[]>;
  /**
   * The application linked from the agreement, with a receipt for its deposit.
   * @throws AGREEMENT_NOT_FOUND; StateError `NOT_FOUND` when none is linked or this node does not
   *   hold its bytes; `RECEIPT_NOT_FOUND`.
   */
  enforcementApplication(id: string, viewer: Principal): Promise<ApplicationView>;
  /** True when `viewer` may see `state` (reads and events). */
  mayView(state: AgreementState, viewer: Viewer): boolean;
  /**
   * Copies the agreement store into a new store at `location` (backups).
   * @throws LedgerError `LEDGER_CLOSED` before `start()` or after `close()`.
   */
  copyStore(location: string): Promise<StoreCopy>;
  /** Opens the store and starts the scheduler. */
  start(): Promise<void>;
  /** Ends every event stream (before the server closes its connections). */
  closeStreams(): void;
  /** Stops the scheduler and closes the store. The ledger stays open. */
  close(): Promise<void>;
}

export interface AgreementServiceOptions {
  readonly ledger: Ledger;
  readonly evidence: EvidenceService;
  /** The node's organisation: the scheduler submits as `{ mspId: org, id: 'gateway' }`. */
  readonly org: string;
  /** Where the node's agreement store lives (`<dataDir>/agreements`). */
  readonly dataDir: string;
  readonly submitTimeoutMs: number;
  /** The scheduler's longest sleep. */
  readonly checkIntervalMs: number;
  /** Events held for `Last-Event-ID` resumption. */
  readonly eventCapacity: number;
  /** Epoch milliseconds: the ledger's clock (default `Date.now`). */
  readonly clock?: () => number;
  /** Failures the service handles itself (a scheduler check, the watch list), for the log. */
  readonly onError?: (error: unknown, message: string) => void;
  /**
   * Whether the scheduler submits due checks (default true); a replica's is off, since its
   * source's scheduler submits them and the replica copies the blocks.
   */
  readonly scheduling?: boolean;
}

function sameAccount(a: Viewer, b: { org: string; account: string }): boolean {
  return a.org === b.org && a.account === b.account;
}

/** Who may see an agreement: see the file comment. */
export function mayView(state: AgreementState, viewer: Viewer): boolean {
  return (
    OVERSIGHT_ROLES.includes(viewer.role) ||
    state.terms.parties.some((party) => sameAccount(viewer, party)) ||
    sameAccount(viewer, state.createdBy) ||
    viewer.org === state.terms.mediationBody.org
  );
}

function isStatus(value: unknown): value is AgreementState['status'] {
  return (AGREEMENT_STATUSES as readonly unknown[]).includes(value);
}

/** The contract's event, read from whatever form the adapter returns it in. */
function transitionEventOf(committed: Committed): TransitionEvent | undefined {
  const event = committed.event;
  if (!event || event.name !== AGREEMENT_EVENT) return undefined;
  let payload: unknown = event.payload;
  try {
    if (payload instanceof Uint8Array) payload = Buffer.from(payload).toString('utf8');
    if (typeof payload === 'string') payload = JSON.parse(payload) as unknown;
  } catch {
    payload = undefined;
  }
  const parsed = payload as Partial<TransitionEvent> | undefined;
  if (
    !parsed ||
    typeof parsed.agreementId !== 'string' ||
    !isStatus(parsed.to) ||
    (parsed.from !== null && !isStatus(parsed.from)) ||
    typeof parsed.action !== 'string'
  ) {
    throw new LedgerError(
      'LEDGER_CORRUPTED',
      `transaction ${committed.txId} set a malformed ${AGREEMENT_EVENT} event`,
    );
  }
  return parsed as TransitionEvent;
}

function toView(stored: StoredApplication, receipt: Receipt): ApplicationView {
  const bytes = Buffer.from(stored.document, 'utf8');
  return {
    agreementId: stored.agreementId,
    digests: stored.digests,
    mediaType: stored.mediaType,
    size: bytes.length,
    document: bytes.toString('base64'),
    text: stored.text,
    receipt,
  };
}

class AgreementServiceImpl implements AgreementService {
  readonly events: AgreementEvents;
  readonly scheduler: AgreementScheduler;
  readonly #ledger: Ledger;
  readonly #evidence: EvidenceService;
  readonly #store: AgreementStore;
  readonly #gateway: LedgerIdentity;
  readonly #clock: () => number;
  readonly #callOptions: () => CallOptions;
  readonly #onError: (error: unknown, message: string) => void;
  readonly #scheduling: boolean;

  constructor(options: AgreementServiceOptions) {
    this.#scheduling = options.scheduling ?? true;
    this.#ledger = options.ledger;
    this.#evidence = options.evidence;
    this.#gateway = { mspId: options.org, id: 'gateway', role: 'gateway' };
    this.#clock = options.clock ?? Date.now;
    this.#callOptions = () => ({ deadline: Date.now() + options.submitTimeoutMs });
    this.#onError = options.onError ?? (() => undefined);
    this.#store = createAgreementStore(options.dataDir);
    this.events = createAgreementEvents(options.eventCapacity);
    this.scheduler = createAgreementScheduler({
      store: this.#store,
      clock: this.#clock,
      intervalMs: options.checkIntervalMs,
      read: (id) => this.#read(id, this.#gateway),
      ...(options.ledger.stateKeys
        ? {
            listAgreements: async () => {
              const prefix = agreementKey('');
              const keys = await options.ledger.stateKeys!(prefix, MAX_REBUILD);
              if (keys.length >= MAX_REBUILD)
                this.#onError(
                  new RangeError(`more than ${MAX_REBUILD} agreements`),
                  'the agreement watch list was rebuilt from the first ones only',
                );
              return keys.map((key) => key.slice(prefix.length));
            },
          }
        : {}),
      checkDue: async (id) => (await this.checkDue(id)).agreement,
      onError: (error, id) => this.#onError(error, `due check of agreement ${id} failed`),
    });
  }

  mayView(state: AgreementState, viewer: Viewer): boolean {
    return mayView(state, viewer);
  }

  create(terms: unknown, principal: Principal): Promise<Transitioned> {
    const id = agreementIdOf(terms);
    return this.#submit(id, 'create', [canonicalJson(terms)], identityOf(principal));
  }

  sign(id: string, documentDigest: string, principal: Principal): Promise<Transitioned> {
    return this.#submit(id, 'sign', [id, documentDigest], identityOf(principal));
  }

  confirm(id: string, caseNumber: string, principal: Principal): Promise<Transitioned> {
    return this.#submit(id, 'confirm', [id, caseNumber], identityOf(principal));
  }

  recordPayment(id: string, payment: PaymentInput, principal: Principal): Promise<Transitioned> {
    return this.#pay('recordPayment', id, payment, principal);
  }

  confirmPayment(id: string, payment: PaymentInput, principal: Principal): Promise<Transitioned> {
    return this.#pay('confirmPayment', id, payment, principal);
  }

  #pay(
    fn: 'recordPayment' | 'confirmPayment',
    id: string,
    payment: PaymentInput,
    principal: Principal,
  ): Promise<Transitioned> {
    return this.#submit(
      id,
      fn,
      [id, String(payment.instalmentIndex), String(payment.amount), payment.reference],
      identityOf(principal),
    );
  }

  checkDue(id: string, principal?: Principal): Promise<Transitioned> {
    return this.#submit(id, 'checkDue', [id], principal ? identityOf(principal) : this.#gateway);
  }

  acknowledgeFiling(id: string, caseNumber: string, principal: Principal): Promise<Transitioned> {
    return this.#submit(id, 'acknowledgeFiling', [id, caseNumber], identityOf(principal));
  }

  reopenMediation(id: string, note: ReopenNote, principal: Principal): Promise<Transitioned> {
    return this.#submit(id, 'reopenMediation', [id, canonicalJson(note)], identityOf(principal));
  }

  terminate(id: string, reason: string, principal: Principal): Promise<Transitioned> {
    return this.#submit(id, 'terminate', [id, reason], identityOf(principal));
  }

  async requestEnforcement(id: string, principal: Principal): Promise<Enforced> {
    const identity = identityOf(principal);
    let state = await this.#read(id, identity);
    if (!state) throw new AgreementError('AGREEMENT_NOT_FOUND', `no agreement ${id}`);
    let refusal = this.#dryRun(state, principal);
    const due = nextDueCheck(state);
    if (refusal?.code === 'INVALID_TRANSITION' && due !== undefined && due <= this.#clock()) {
      // Chain time may have defaulted it with nobody recording that yet: record it first.
      state = (await this.checkDue(id)).agreement;
      refusal = this.#dryRun(state, principal);
    }
    if (refusal) throw refusalError(refusal);
    const applicant = state.terms.parties.findIndex((party) => sameAccount(principal, party));
    const history = await this.#history(id, identity);
    const built = buildEnforcementApplication({
      chainId: this.#ledger.chainId,
      state,
      history,
      applicant,
    } satisfies ApplicationInput);
    const stored: StoredApplication = {
      agreementId: id,
      digests: built.digests,
      mediaType: APPLICATION_MEDIA_TYPE,
      document: built.bytes.toString('utf8'),
      text: built.text,
    };
    // Stored first: once the digest is on chain, these exact bytes must be available.
    await this.#store.putApplication(stored);
    const deposited = await this.#evidence.deposit(
      {
        digests: [...built.digests],
        evidenceType: 'application',
        mediaType: APPLICATION_MEDIA_TYPE,
        size: built.bytes.length,
      },
      principal,
    );
    const done = await this.#submit(id, 'requestEnforcement', [id, built.digests[0]], identity);
    return { ...done, application: toView(stored, deposited.receipt) };
  }

  async read(id: string, viewer: Principal): Promise<AgreementWithHistory | undefined> {
    const identity = identityOf(viewer);
    const agreement = await this.#read(id, identity);
    if (!agreement || !mayView(agreement, viewer)) return undefined;
    const entries = await this.#history(id, identity);
    const timeline = agreementTimeline(entries);
    const history = entries.map((entry, index) => ({
      ...entry,
      action: timeline[index]!.action,
    }));
    return { agreement, history };
  }

  async ofParty(org: string, account: string, viewer: Principal): Promise<AgreementSummary[]> {
    if (!OVERSIGHT_ROLES.includes(viewer.role) && !sameAccount(viewer, { org, account })) {
      throw new AccessError(
        'FORBIDDEN',
        "only the party itself, a court or an admin may list a party's agreements",
      );
    }
    const identity = identityOf(viewer);
    const ids = await this.#ledger.evaluate<string[]>(
      AGREEMENT_CONTRACT,
      'agreementsOfParty',
      [org, account],
      identity,
      this.#callOptions(),
    );
    const summaries: AgreementSummary[] = [];
    for (const id of ids) {
      const state = await this.#read(id, identity);
      if (state)
        summaries.push({
          agreementId: state.agreementId,
          status: state.status,
          createdAt: state.createdAt,
          updatedAt: state.updatedAt,
        });
    }
    return summaries;
  }

  async enforcementApplication(id: string, viewer: Principal): Promise<ApplicationView> {
    const identity = identityOf(viewer);
    const state = await this.#read(id, identity);
    if (!state || !mayView(state, viewer))
      throw new AgreementError('AGREEMENT_NOT_FOUND', `no agreement ${id}`);
    const digest = state.enforcement?.applicationDigest as Digest | undefined;
    if (!digest)
      throw new StateError('NOT_FOUND', `agreement ${id} has no enforcement application linked`);
    const stored =
      (await this.#store.application(digest)) ?? (await this.#regenerate(state, identity));
    if (!stored || stored.digests[0] !== digest) {
      throw new StateError(
        'NOT_FOUND',
        `this node does not hold the enforcement application ${digest} of agreement ${id}`,
      );
    }
    const receipt = await this.#evidence.receipt(digest, viewer);
    if (!receipt)
      throw new StateError('RECEIPT_NOT_FOUND', `the application ${digest} is not on chain`);
    return toView(stored, receipt);
  }

  copyStore(location: string): Promise<StoreCopy> {
    return this.#store.copyTo(location);
  }

  async start(): Promise<void> {
    await this.#store.open();
    if (this.#scheduling) await this.scheduler.start();
  }

  closeStreams(): void {
    this.events.close();
  }

  async close(): Promise<void> {
    this.events.close();
    await this.scheduler.stop();
    await this.#store.close();
  }

  /**
   * The application another node generated for this agreement, rebuilt from the chain: the state
   * before the request and the history up to it. Only returned when it hashes to the linked digest.
   */
  async #regenerate(
    state: AgreementState,
    identity: LedgerIdentity,
  ): Promise<StoredApplication | undefined> {
    const enforcement = state.enforcement;
    if (!enforcement) return undefined;
    const history = await this.#history(state.agreementId, identity);
    const at = history.findIndex((entry) => entry.txId === enforcement.requestTxId);
    const before = at > 0 ? history[at - 1]?.value : undefined;
    if (!before || !before.default) return undefined;
    const built = buildEnforcementApplication({
      chainId: this.#ledger.chainId,
      state: before,
      history: history.slice(0, at),
      applicant: enforcement.requestedBy,
    });
    if (built.digests[0] !== enforcement.applicationDigest) return undefined;
    return {
      agreementId: state.agreementId,
      digests: built.digests,
      mediaType: APPLICATION_MEDIA_TYPE,
      document: built.bytes.toString('utf8'),
      text: built.text,
    };
  }

  /** The refusal `requestEnforcement` would meet now, decided by core as the chaincode would. */
  #dryRun(state: AgreementState, principal: Principal) {
    const outcome = transition(
      state,
      {
        kind: 'requestEnforcement',
        agreementId: state.agreementId,
        applicationDigest: `sha256:${'0'.repeat(64)}`,
      },
      { org: principal.org, account: principal.account, role: principal.role },
      { txId: 'dry-run', time: new Date(this.#clock()).toISOString() },
    );
    return outcome.ok ? undefined : outcome.refusal;
  }

  async #read(id: string, identity: LedgerIdentity): Promise<AgreementState | undefined> {
    const state = await this.#ledger.evaluate<AgreementState | null>(
      AGREEMENT_CONTRACT,
      'readAgreement',
      [id],
      identity,
      this.#callOptions(),
    );
    return state ?? undefined;
  }

  async #history(id: string, identity: LedgerIdentity): Promise<AgreementHistoryEntry[]> {
    return this.#ledger.evaluate<AgreementHistoryEntry[]>(
      AGREEMENT_CONTRACT,
      'agreementHistory',
      [id],
      identity,
      this.#callOptions(),
    );
  }

  /**
   * Submits one transition. The agreement is watched (durably) before the submit, so the scheduler
   * cannot miss it; after the commit the watch list and the event stream learn the new state.
   */
  async #submit(
    id: string | undefined,
    fn: AgreementActionName,
    args: readonly string[],
    identity: LedgerIdentity,
  ): Promise<Transitioned> {
    if (id !== undefined) await this.scheduler.intend(id);
    let committed: Committed<AgreementState>;
    try {
      committed = await this.#ledger.submit<AgreementState>(
        AGREEMENT_CONTRACT,
        fn,
        args,
        identity,
        this.#callOptions(),
      );
    } catch (error) {
      if (id !== undefined)
        await this.scheduler
          .abandon(id)
          .catch((failure: unknown) => this.#onError(failure, 'watch list update failed'));
      throw error;
    }
    const state = committed.result;
    await this.scheduler
      .observe(state)
      .catch((failure: unknown) => this.#onError(failure, 'watch list update failed'));
    const event = transitionEventOf(committed);
    if (!event) return { agreement: state, transition: null };
    const streamed: AgreementStreamEvent = {
      agreementId: event.agreementId,
      from: event.from,
      to: event.to,
      action: event.action,
      txId: committed.txId,
      time: committed.time,
      blockNumber: committed.blockNumber,
    };
    const audience: Audience = (viewer) => mayView(state, viewer);
    this.events.publish(streamed, audience);
    return { agreement: state, transition: streamed };
  }
}

/** The agreement service over `options.ledger`; call `start()` before use and `close()` after. */
export function createAgreementService(options: AgreementServiceOptions): AgreementService {
  return new AgreementServiceImpl(options);
}
