/**
 * Replicas (docs/replicas.md). On every node, `GET /v1/blocks`: the durable blocks, whole and as
 * stored, for a consortium member's replica to copy and check (role court, auditor or admin: a
 * block holds every record's depositor account and every agreement's state, so it is not public).
 * On a replica, `GET /v1/replica/status`: how far it has copied its source, and the proof of a fork
 * if the source signed two histories. On every node, `POST /v1/forks`: another node (or anyone
 * holding one) gives it a proof that its chain's key signed two blocks at one height, which it
 * checks against its own chain's keys and keeps (replica/forks.ts); `GET /v1/forks`, public, says
 * whether it holds one.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ERROR_CODES, ReplicaError, StateError } from '../../core/errors';
import { checkForkProof, forkProofSchema, type ForkProof } from '../../core/fork';
import { fullBlockSchema } from '../../core/full-block';
import { signedBlockHeaderSchema } from '../../core/receipt';
import type { KeyRole } from '../auth/api-keys';
import type { BlockForm, Ledger } from '../ledger/ledger';
import type { ReplicaFollower } from '../replica/follower';
import type { ForkRecord } from '../replica/forks';
import { BLOCKS_PER_CALL } from '../replica/source';
import { ERROR_RESPONSES, POSITION_QUERY } from '../schemas';
import { SECURITY } from './security';

/** Who may read whole blocks and a replica's status. */
export const REPLICA_ROLES: readonly KeyRole[] = ['court', 'auditor', 'admin'];

/** Text of blocks in one answer, beyond the first block (which is always sent whole). */
export const BLOCKS_ANSWER_BUDGET = 8 * 1024 * 1024;

export interface ReplicaRoutesOptions {
  readonly ledger: Ledger;
  /** The replica's job, on a replica. */
  readonly follower?: ReplicaFollower;
  /** The node's record of a fork of its chain (a ledger that keeps whole blocks has one). */
  readonly forks?: ForkRecord;
}

const TIME_OR_NULL = { type: ['string', 'null'] } as const;

/** The answer of `GET /v1/blocks`, as documented (it is sent as stored, not serialised). */
const blocksAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'height', 'blocks'],
  properties: {
    chainId: { type: 'string' },
    height: { type: 'integer', minimum: 1, description: 'durable blocks on this node' },
    blocks: {
      type: 'array',
      description: 'with `first=header`, the first is only its signed header',
      items: { anyOf: [fullBlockSchema, signedBlockHeaderSchema] },
    },
  },
} as const;

const replicaStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'source',
    'chainId',
    'height',
    'sourceHeight',
    'behind',
    'lastSyncAt',
    'replicatedBlocks',
    'failures',
    'lastError',
    'forked',
  ],
  properties: {
    source: { type: 'string' },
    chainId: { type: 'string' },
    height: { type: 'integer', minimum: 1 },
    sourceHeight: { type: ['integer', 'null'] },
    behind: { type: ['integer', 'null'] },
    lastSyncAt: TIME_OR_NULL,
    replicatedBlocks: { type: 'integer', minimum: 0 },
    failures: { type: 'integer', minimum: 0 },
    lastError: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'message', 'at'],
          properties: {
            code: { type: 'string', enum: [...ERROR_CODES] },
            message: { type: 'string' },
            at: { type: 'string' },
          },
        },
      ],
    },
    forked: { anyOf: [{ type: 'null' }, forkProofSchema] },
  },
} as const;

const forksAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'forked', 'notices'],
  properties: {
    chainId: { type: 'string' },
    forked: { anyOf: [{ type: 'null' }, forkProofSchema] },
    notices: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['target', 'state', 'attempts', 'lastError'],
        properties: {
          target: { type: 'string' },
          state: { type: 'string', enum: ['pending', 'sent', 'refused'] },
          attempts: { type: 'integer', minimum: 0 },
          lastError: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

const forkTakenSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'number', 'kept', 'detail'],
  properties: {
    chainId: { type: 'string' },
    number: { type: 'integer', minimum: 0 },
    kept: {
      type: 'string',
      enum: ['new', 'known'],
      description: '`new`: this proof is now kept; `known`: the node held a proof already',
    },
    detail: { type: 'string' },
  },
} as const;

const replicaRoutes: FastifyPluginAsync<ReplicaRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { ledger, follower, forks } = options;

  const forkRecord = (): ForkRecord => {
    if (!forks) throw new StateError('NOT_FOUND', 'this ledger keeps no record of forks');
    return forks;
  };

  app.get(
    '/forks',
    {
      schema: {
        tags: ['replicas'],
        summary: "Whether this node holds proof that its chain's key signed two histories",
        description:
          '`forked`: the proof kept (two headers of one height, each signed by the key the ' +
          'chain says signed it), or null; `notices`: where passing it on to the fork peers (and ' +
          "a replica's source) stands. Public: it is a fact about the chain every reader of its " +
          'receipts should know.',
        response: { 200: forksAnswerSchema, ...ERROR_RESPONSES },
      },
    },
    async () => {
      const record = forkRecord();
      return { chainId: ledger.chainId, forked: record.current(), notices: record.notices() };
    },
  );

  app.post<{ Body: ForkProof }>(
    '/forks',
    {
      onRequest: app.requireRoles(...REPLICA_ROLES),
      schema: {
        tags: ['replicas'],
        summary: "Gives this node proof that its chain's key signed two blocks at one height",
        description:
          'The proof (as a replica keeps it, `evidence fork` checks it) is checked against the ' +
          "keys of this node's own chain, each valid at its block's time: 422 FORK_NOT_PROVEN " +
          'says why it proves nothing here; 409 FORK_KEY_UNKNOWN, from a replica that holds no ' +
          "more blocks than the proof's height, that it is signed by a key the replica has not " +
          'reached yet (send it again later). A proven one is kept if the node held none (a ' +
          'replica then follows its source no more) and passed on to its fork peers.',
        security: SECURITY,
        body: forkProofSchema,
        response: { 200: forkTakenSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const record = forkRecord();
      const proof = request.body;
      if (proof.chainId !== ledger.chainId) {
        throw new ReplicaError(
          'FORK_NOT_PROVEN',
          `chainId: the proof is of chain ${proof.chainId}; this node keeps ${ledger.chainId}`,
        );
      }
      const verdict = checkForkProof(proof, ledger.trust());
      if (!verdict.proven) {
        if (verdict.unpinnedKey !== undefined && ledger.isReplica?.()) {
          const { height } = await ledger.info();
          if (height <= proof.number) {
            throw new ReplicaError(
              'FORK_KEY_UNKNOWN',
              `this replica holds ${height} blocks and has not reached key ` +
                `${verdict.unpinnedKey}, which signed block ${proof.number}: it checks the ` +
                "proof once it has followed the chain's key rotations; send it again later",
            );
          }
        }
        throw new ReplicaError('FORK_NOT_PROVEN', verdict.problem);
      }
      const first = await record.keep(proof, {
        how: 'given',
        by: request.principal?.account ?? 'a client',
      });
      return {
        chainId: proof.chainId,
        number: proof.number,
        kept: first ? 'new' : 'known',
        detail: verdict.detail,
      };
    },
  );

  app.get<{ Querystring: { from?: string; limit?: string; first?: BlockForm } }>(
    '/blocks',
    {
      onRequest: app.requireRoles(...REPLICA_ROLES),
      schema: {
        tags: ['replicas'],
        summary: 'Whole blocks, as stored: what a replica copies and checks',
        description:
          '`{chainId, height, blocks}`: the durable blocks from `from` (default 0) on, at most ' +
          `\`limit\` (default and most ${BLOCKS_PER_CALL}) and about ${BLOCKS_ANSWER_BUDGET / 1_048_576} MiB ` +
          '(always the first two, however large: a replica asks from the block it holds); `height` ' +
          'is the number of durable blocks. ' +
          'Each block is the signed header with every transaction whole (core/full-block.ts); ' +
          'with `first=header` (what a replica sends: it holds block `from` and only compares ' +
          'it), block `from` is only its signed header. ' +
          '404 NOT_FOUND on a ledger that does not keep whole blocks.',
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: POSITION_QUERY,
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
            first: { type: 'string', enum: ['whole', 'header'] },
          },
        },
        response: { 200: blocksAnswerSchema, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      if (!ledger.rawBlocks)
        throw new StateError('NOT_FOUND', 'this ledger serves no whole blocks');
      const from = Number(request.query.from ?? '0');
      const limit = Math.min(BLOCKS_PER_CALL, Number(request.query.limit ?? BLOCKS_PER_CALL));
      const { height, blocks } = await ledger.rawBlocks(
        from,
        limit,
        BLOCKS_ANSWER_BUDGET,
        request.query.first,
      );
      // The stored texts go out as they are: no parse, no serialisation, no escaping.
      const text = `{"chainId":${JSON.stringify(ledger.chainId)},"height":${height},"blocks":[${blocks.join(',')}]}`;
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );

  app.get(
    '/replica/status',
    {
      onRequest: app.requireRoles(...REPLICA_ROLES),
      schema: {
        tags: ['replicas'],
        summary: "How far this replica has copied its source's chain, and any proof of a fork",
        description:
          '404 NOT_FOUND on a node that is not a replica. `forked` holds two block headers of ' +
          'the same height, both signed by the key the chain says signed it: the source signed ' +
          'two histories, and the replica follows it no more.',
        security: SECURITY,
        response: { 200: replicaStatusSchema, ...ERROR_RESPONSES },
      },
    },
    async () => {
      if (!follower) throw new StateError('NOT_FOUND', 'this node is not a replica');
      return follower.status();
    },
  );
};

export default replicaRoutes;
