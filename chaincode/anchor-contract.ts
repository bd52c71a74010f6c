/**
 * AnchorContract: the tips of other chains (evidence chains) recorded on this one (the court's).
 * Thin and deterministic: parse -> core (`judgeAnchor`) -> write canonical bytes -> return. Time
 * comes only from the transaction timestamp.
 *
 * A contradiction (the same block with another hash, or a block below the latest anchor) is
 * refused, and yet kept: a failing Fabric transaction writes nothing, so `recordAnchor` does not
 * throw for it. It commits a fork record and RETURNS `{status: 'rejected', code, ...}`; the
 * gateway turns that into an error response. Anything else wrong (role, input) throws
 * `CODE: message` as usual and writes nothing.
 *
 * Keys (chain ids cannot contain ':', numbers are 16 hex digits so keys sort by number):
 *   anchor:<chain>:<number>                 -> AnchorRecord
 *   anchor-tip:<chain>                      -> AnchorTip (latest anchor, index sizes)
 *   anchor-seq:<chain>:<seq>                -> {blockNumber} of the seq-th anchor (increasing)
 *   anchor-fork:<chain>:<number>:<txId>     -> AnchorFork
 *   anchor-fork-seq:<chain>:<seq>           -> {key} of the seq-th fork
 * The two sequence indexes let every read use exact keys (no range scans): `anchorCovering` is
 * a binary search over `anchor-seq`, O(log n) reads.
 */

import { Context, Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  anchorInputSchema,
  judgeAnchor,
  type AnchorFork,
  type AnchorInput,
  type AnchorRecord,
  type AnchorTip,
  type RecordAnchorResult,
} from '../core/anchor';
import { canonicalBytes, canonicalJson } from '../core/canonical';
import { ValidationError } from '../core/errors';
import type { Role } from '../core/evidence-state';
import { parseJson, validateOrThrow } from '../core/schema';
import { CHAIN_ID_PATTERN } from '../core/trust';
import { callerOf, guarded, requireRole, txTime } from './contract-support';

/** Roles that may record anchors: the anchoring job's identity, a gateway node, an administrator. */
export const ANCHOR_ROLES: readonly Role[] = ['anchor', 'gateway', 'admin'];

export const ANCHOR_RECORDED_EVENT = 'AnchorRecorded';
export const ANCHOR_FORK_EVENT = 'AnchorForkRecorded';

const CHAIN_ID_RE = new RegExp(CHAIN_ID_PATTERN);
const hex16 = (n: number) => n.toString(16).padStart(16, '0');

/** World-state key of the anchor of block `blockNumber` of `sourceChainId`. */
export function anchorKey(sourceChainId: string, blockNumber: number): string {
  return `anchor:${sourceChainId}:${hex16(blockNumber)}`;
}

export function anchorTipKey(sourceChainId: string): string {
  return `anchor-tip:${sourceChainId}`;
}

export function anchorForkKey(sourceChainId: string, blockNumber: number, txId: string): string {
  return `anchor-fork:${sourceChainId}:${hex16(blockNumber)}:${txId}`;
}

function anchorSeqKey(sourceChainId: string, seq: number): string {
  return `anchor-seq:${sourceChainId}:${hex16(seq)}`;
}

function forkSeqKey(sourceChainId: string, seq: number): string {
  return `anchor-fork-seq:${sourceChainId}:${hex16(seq)}`;
}

function checkChainIdArg(value: string): string {
  if (typeof value !== 'string' || !CHAIN_ID_RE.test(value)) {
    throw new ValidationError('VALIDATION_FAILED', 'sourceChainId is not a chain id', [
      { path: '/sourceChainId', rule: 'pattern', message: `must match ${CHAIN_ID_PATTERN}` },
    ]);
  }
  return value;
}

function checkBlockNumberArg(value: string): number {
  const number =
    typeof value === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) {
    throw new ValidationError('VALIDATION_FAILED', 'blockNumber is not a block number', [
      {
        path: '/blockNumber',
        rule: 'blockNumber',
        message: 'a decimal integer from 0 to 2^53 - 1',
      },
    ]);
  }
  return number;
}

async function readJson<T>(ctx: Context, key: string): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(key);
  if (!bytes || bytes.length === 0) return undefined;
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

/** An index entry that the tip promises but state lacks: the world state is inconsistent. */
function missingIndex(key: string): Error {
  return new Error(`anchor index entry ${key} is missing`);
}

@Info({ title: 'AnchorContract', description: 'Anchors of other chains and the forks they reveal' })
export class AnchorContract extends Contract {
  constructor() {
    super('anchor');
  }

  /**
   * Records the tip of another chain. Returns `{status: 'recorded', anchor}`, or
   * `{status: 'existing', anchor}` for an anchor already on record (nothing written), or
   * `{status: 'rejected', code: 'ANCHOR_CONFLICT' | 'ANCHOR_REGRESSION', message, fork}` after
   * committing the fork record.
   */
  @Transaction()
  @Param(
    'anchorJson',
    'string',
    'canonical JSON of {sourceChainId, blockNumber, headerHash, leavesRoot?}',
  )
  @Returns('string')
  async recordAnchor(ctx: Context, anchorJson: string): Promise<string> {
    return guarded(async () => {
      const caller = callerOf(ctx);
      requireRole(caller, ANCHOR_ROLES, 'anchoring');
      const input = validateOrThrow<AnchorInput>(
        anchorInputSchema,
        parseJson(anchorJson, 'anchor'),
        'anchor',
      );
      const chain = input.sourceChainId;
      // Every read happens before any write: Fabric reads see committed state only.
      const atNumber = await readJson<AnchorRecord>(ctx, anchorKey(chain, input.blockNumber));
      const tip = await readJson<AnchorTip>(ctx, anchorTipKey(chain));
      const judgement = judgeAnchor(input, atNumber, tip);
      const txId = ctx.stub.getTxID();
      const time = txTime(ctx);
      const by = { org: caller.mspId, account: caller.account };
      const claim: AnchorInput = {
        sourceChainId: chain,
        blockNumber: input.blockNumber,
        headerHash: input.headerHash,
        ...(input.leavesRoot !== undefined ? { leavesRoot: input.leavesRoot } : {}),
      };
      let result: RecordAnchorResult;
      if (judgement.outcome === 'existing') {
        result = { status: 'existing', anchor: judgement.anchor };
      } else if (judgement.outcome === 'reject') {
        if (!tip) throw missingIndex(anchorTipKey(chain));
        const fork: AnchorFork = {
          type: 'anchor-fork',
          code: judgement.code,
          ...claim,
          recorded: judgement.recorded,
          reportedBy: by,
          txId,
          time,
        };
        const forkKey = anchorForkKey(chain, input.blockNumber, txId);
        await ctx.stub.putState(forkKey, canonicalBytes(fork));
        await ctx.stub.putState(forkSeqKey(chain, tip.forks), canonicalBytes({ key: forkKey }));
        const nextTip: AnchorTip = { ...tip, forks: tip.forks + 1 };
        await ctx.stub.putState(anchorTipKey(chain), canonicalBytes(nextTip));
        ctx.stub.setEvent(ANCHOR_FORK_EVENT, canonicalBytes(fork));
        result = { status: 'rejected', code: judgement.code, message: judgement.message, fork };
      } else {
        const anchor: AnchorRecord = { type: 'anchor', ...claim, anchoredBy: by, txId, time };
        const seq = tip?.anchors ?? 0;
        const nextTip: AnchorTip = {
          type: 'anchor-tip',
          sourceChainId: chain,
          blockNumber: anchor.blockNumber,
          headerHash: anchor.headerHash,
          txId,
          time,
          anchors: seq + 1,
          forks: tip?.forks ?? 0,
        };
        await ctx.stub.putState(anchorKey(chain, anchor.blockNumber), canonicalBytes(anchor));
        await ctx.stub.putState(
          anchorSeqKey(chain, seq),
          canonicalBytes({ blockNumber: anchor.blockNumber }),
        );
        await ctx.stub.putState(anchorTipKey(chain), canonicalBytes(nextTip));
        ctx.stub.setEvent(ANCHOR_RECORDED_EVENT, canonicalBytes(anchor));
        result = { status: 'recorded', anchor };
      }
      return canonicalJson(result);
    });
  }

  /** The anchor of one block, or `null`. */
  @Transaction(false)
  @Param('sourceChainId', 'string', 'chain id of the anchored chain')
  @Param('blockNumber', 'string', 'decimal block number')
  @Returns('string')
  async readAnchor(ctx: Context, sourceChainId: string, blockNumber: string): Promise<string> {
    return guarded(async () => {
      const key = anchorKey(checkChainIdArg(sourceChainId), checkBlockNumberArg(blockNumber));
      return canonicalJson((await readJson<AnchorRecord>(ctx, key)) ?? null);
    });
  }

  /** The anchor with the highest block number, or `null`. */
  @Transaction(false)
  @Param('sourceChainId', 'string', 'chain id of the anchored chain')
  @Returns('string')
  async latestAnchor(ctx: Context, sourceChainId: string): Promise<string> {
    return guarded(async () => {
      const chain = checkChainIdArg(sourceChainId);
      const tip = await readJson<AnchorTip>(ctx, anchorTipKey(chain));
      if (!tip || tip.anchors === 0) return canonicalJson(null);
      const key = anchorKey(chain, tip.blockNumber);
      const anchor = await readJson<AnchorRecord>(ctx, key);
      if (!anchor) throw missingIndex(key);
      return canonicalJson(anchor);
    });
  }

  /**
   * The first anchor whose block number is at least `blockNumber` (the anchor a receipt for that
   * block can be upgraded with), or `null` when no anchor covers it yet.
   */
  @Transaction(false)
  @Param('sourceChainId', 'string', 'chain id of the anchored chain')
  @Param('blockNumber', 'string', 'decimal block number')
  @Returns('string')
  async anchorCovering(ctx: Context, sourceChainId: string, blockNumber: string): Promise<string> {
    return guarded(async () => {
      const chain = checkChainIdArg(sourceChainId);
      const number = checkBlockNumberArg(blockNumber);
      const tip = await readJson<AnchorTip>(ctx, anchorTipKey(chain));
      if (!tip || tip.anchors === 0 || tip.blockNumber < number) return canonicalJson(null);
      const numberAt = async (seq: number): Promise<number> => {
        const key = anchorSeqKey(chain, seq);
        const entry = await readJson<{ blockNumber: number }>(ctx, key);
        if (!entry) throw missingIndex(key);
        return entry.blockNumber;
      };
      // Anchored numbers increase with seq (regressions are refused), and seq anchors - 1 is the
      // tip, which covers `number`: find the first seq that does.
      let low = 0;
      let high = tip.anchors - 1;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if ((await numberAt(middle)) >= number) high = middle;
        else low = middle + 1;
      }
      const key = anchorKey(
        chain,
        high === tip.anchors - 1 ? tip.blockNumber : await numberAt(high),
      );
      const anchor = await readJson<AnchorRecord>(ctx, key);
      if (!anchor) throw missingIndex(key);
      return canonicalJson(anchor);
    });
  }

  /** Every fork record of a chain, oldest first (an empty list when there is none). */
  @Transaction(false)
  @Param('sourceChainId', 'string', 'chain id of the anchored chain')
  @Returns('string')
  async anchorForks(ctx: Context, sourceChainId: string): Promise<string> {
    return guarded(async () => {
      const chain = checkChainIdArg(sourceChainId);
      const tip = await readJson<AnchorTip>(ctx, anchorTipKey(chain));
      const forks: AnchorFork[] = [];
      for (let seq = 0; seq < (tip?.forks ?? 0); seq++) {
        const entry = await readJson<{ key: string }>(ctx, forkSeqKey(chain, seq));
        if (!entry) throw missingIndex(forkSeqKey(chain, seq));
        const fork = await readJson<AnchorFork>(ctx, entry.key);
        if (!fork) throw missingIndex(entry.key);
        forks.push(fork);
      }
      return canonicalJson(forks);
    });
  }
}
