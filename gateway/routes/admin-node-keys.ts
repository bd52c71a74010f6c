/**
 * The node keys of the embedded chain (admin role): every key it was signed with, and rotating
 * the current one. What a rotation writes and what verifiers need: docs/operations.md.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { NODE_KEY_ALGORITHMS, type NodeKeyAlgorithm } from '../../core/block';
import { StateError } from '../../core/errors';
import { trustFingerprint } from '../../core/trust';
import type { AuditLog } from '../audit/audit-log';
import type { BackupService } from '../backup';
import type { Ledger, NodeKeyRotation, NodeKeyView } from '../ledger/ledger';
import { ERROR_RESPONSES, OPTIONAL_BODY, noBodyAsEmpty, schemaRef } from '../schemas';
import { SECURITY } from './security';

export interface AdminNodeKeyRoutesOptions {
  readonly ledger: Ledger;
  readonly backups: Pick<BackupService, 'running'>;
  readonly audit?: Pick<AuditLog, 'append'>;
  /** Told of every rotation, with the time the new key starts signing. */
  readonly onRotated?: (rotation: NodeKeyRotation) => void;
}

const DIGEST = '^sha256:[0-9a-f]{64}$';

const nodeKeySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['keyId', 'algorithm', 'publicKey', 'firstBlock', 'current'],
  properties: {
    keyId: { type: 'string', pattern: DIGEST },
    algorithm: { type: 'string', enum: [...NODE_KEY_ALGORITHMS] },
    publicKey: { type: 'string', description: 'base64 SubjectPublicKeyInfo DER' },
    firstBlock: { type: 'integer', minimum: 0, description: 'the first block it signed' },
    lastBlock: {
      type: 'integer',
      minimum: 0,
      description: 'the rotation block, the last it signed; absent for the current key',
    },
    notBefore: {
      type: 'string',
      format: 'date-time',
      description: 'chain time from which it signs; absent for the chain’s first key',
    },
    notAfter: {
      type: 'string',
      format: 'date-time',
      description: 'chain time after which it signs nothing; absent for the current key',
    },
    current: { type: 'boolean', description: 'the key that signs new blocks' },
  },
} as const;

const nodeKeyListSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'keys', 'trustFingerprint'],
  properties: {
    chainId: { type: 'string' },
    keys: { type: 'array', items: nodeKeySchema },
    trustFingerprint: {
      type: 'string',
      pattern: DIGEST,
      description: 'sha256 of the trust file `GET /v1/trust` serves now',
    },
  },
} as const;

const rotationSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'previousKeyId',
    'keyId',
    'algorithm',
    'publicKey',
    'blockNumber',
    'time',
    'keys',
    'trust',
    'trustFingerprint',
  ],
  properties: {
    previousKeyId: { type: 'string', pattern: DIGEST },
    keyId: { type: 'string', pattern: DIGEST },
    algorithm: { type: 'string', enum: [...NODE_KEY_ALGORITHMS] },
    publicKey: { type: 'string' },
    blockNumber: {
      type: 'integer',
      minimum: 1,
      description: 'the rotation block: signed by the previous key, its last',
    },
    time: { type: 'string', format: 'date-time' },
    keys: { type: 'array', items: nodeKeySchema },
    trust: schemaRef('trust-file'),
    trustFingerprint: { type: 'string', pattern: DIGEST },
  },
} as const;

/** `POST /v1/admin/node-keys`: nothing, `{}`, or the incoming key's algorithm. */
const rotationRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    algorithm: {
      type: 'string',
      enum: [...NODE_KEY_ALGORITHMS],
      description:
        'what the new key signs with: `ed25519`, or `sm2-sm3` (SM2 with SM3, GB/T 32918); ' +
        'default `EVIDENCE_NODE_KEY_ALGORITHM`, else the current key’s',
    },
  },
} as const;

function withCurrent(keys: readonly NodeKeyView[]) {
  return keys.map((key, index) => ({ ...key, current: index === keys.length - 1 }));
}

const adminNodeKeyRoutes: FastifyPluginAsync<AdminNodeKeyRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { ledger, backups, audit } = options;
  const tags = ['admin'];
  app.addHook('onRequest', app.requireRoles('admin'));

  /** The embedded ledger's key operations; a Fabric ledger has none (its MSPs sign). */
  const nodeKeys = () => {
    const { nodeKeys: list, rotateKey: rotate } = ledger;
    if (!list || !rotate)
      throw new StateError('NOT_FOUND', `a ${ledger.kind} ledger has no node key of its own`);
    return {
      list: () => list.call(ledger),
      rotate: (algorithm?: NodeKeyAlgorithm) => rotate.call(ledger, algorithm),
    };
  };

  app.get(
    '/admin/node-keys',
    {
      schema: {
        tags,
        summary: 'Every key the chain’s blocks were signed with, oldest first, and their windows',
        security: SECURITY,
        response: { 200: nodeKeyListSchema, ...ERROR_RESPONSES },
      },
    },
    async () => ({
      chainId: ledger.chainId,
      keys: withCurrent(nodeKeys().list()),
      trustFingerprint: trustFingerprint(ledger.trust()),
    }),
  );

  app.post<{ Body: { algorithm?: NodeKeyAlgorithm } }>(
    '/admin/node-keys',
    {
      preValidation: noBodyAsEmpty,
      schema: {
        tags,
        summary: 'Rotate the node key: a new key signs every block after this one',
        description:
          'A block signed by the current key records the new key, proven by its signature; ' +
          'every later block is signed by the new key, and the old private key is removed. The ' +
          'trust file changes: verifiers pin the one returned (it keeps the old key, valid up ' +
          'to the rotation, so every earlier receipt still verifies). 409 `BACKUP_RUNNING` ' +
          'while a backup is being taken. The body may name the new key’s algorithm, so a ' +
          'chain signed with Ed25519 can move to SM2 (or back) without a new chain.',
        security: SECURITY,
        body: rotationRequestSchema,
        [OPTIONAL_BODY]: true as const,
        response: { 201: rotationSchema, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const keys = nodeKeys();
      const running = backups.running();
      if (running) {
        throw new StateError(
          'BACKUP_RUNNING',
          `backup ${running.id} is being taken; rotate the key once it is done`,
        );
      }
      const rotation = await keys.rotate(request.body.algorithm);
      audit?.append({
        type: 'node-key',
        params: {
          keyId: rotation.keyId,
          algorithm: rotation.algorithm,
          previousKeyId: rotation.previousKeyId,
          block: String(rotation.blockNumber),
        },
      });
      options.onRotated?.(rotation);
      return reply.code(201).send({
        ...rotation,
        keys: withCurrent(rotation.keys),
        trustFingerprint: trustFingerprint(rotation.trust),
      });
    },
  );
};

export default adminNodeKeyRoutes;
