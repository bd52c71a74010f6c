/**
 * Online backups (admin role): take one while the node serves, watch it, list them. What a backup
 * holds and how a node is restored from one: gateway/backup.ts, docs/operations.md.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { StateError } from '../../core/errors';
import { BACKUP_ID_PATTERN, type BackupService } from '../backup';
import { ERROR_RESPONSES } from '../schemas';
import { SECURITY } from './security';

export interface AdminBackupRoutesOptions {
  readonly backups: BackupService;
}

const storeCopySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['entries', 'bytes', 'digest'],
  properties: {
    entries: { type: 'integer', minimum: 0 },
    bytes: { type: 'integer', minimum: 0, description: 'bytes of keys and values, not of files' },
    digest: {
      type: 'string',
      description: 'sha256 over every entry in key order (gateway/storage/store-copy.ts)',
    },
  },
} as const;

export const backupSchema = {
  $id: 'backup',
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'state',
    'startedAt',
    'finishedAt',
    'chainId',
    'ledger',
    'stores',
    'files',
    'error',
  ],
  properties: {
    id: { type: 'string', pattern: BACKUP_ID_PATTERN, description: 'the start time, UTC' },
    state: { type: 'string', enum: ['running', 'completed', 'failed'] },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
    chainId: { type: 'string' },
    ledger: {
      description: 'the ledger copy, checked block by block; null unless completed',
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'store', 'height', 'tipHash', 'tipTime', 'verifiedBlocks'],
          properties: {
            kind: { type: 'string', enum: ['embedded'] },
            store: storeCopySchema,
            height: { type: 'integer', minimum: 0 },
            tipHash: { anyOf: [{ type: 'string' }, { type: 'null' }] },
            tipTime: { anyOf: [{ type: 'string' }, { type: 'null' }] },
            verifiedBlocks: { type: 'integer', minimum: 0 },
          },
        },
        { type: 'null' },
      ],
    },
    stores: {
      type: 'object',
      description: 'the other stores copied: agreements, anchoring (when it runs), audit',
      additionalProperties: storeCopySchema,
    },
    files: { type: 'array', items: { type: 'string' } },
    error: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' } },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

const adminBackupRoutes: FastifyPluginAsync<AdminBackupRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { backups } = options;
  const tags = ['admin'];
  app.addHook('onRequest', app.requireRoles('admin'));

  app.post(
    '/admin/backups',
    {
      schema: {
        tags,
        summary: 'Take a backup of the node now, while it serves; it runs in the background',
        description:
          'Answers 202 with the running backup and its `Location`; poll it until `completed` ' +
          '(or `failed`). One backup at a time. The folder it writes is a data directory a new ' +
          'node starts from.',
        security: SECURITY,
        response: { 202: { $ref: 'backup#' }, ...ERROR_RESPONSES },
      },
    },
    async (_request, reply) => {
      const backup = backups.start();
      return reply.code(202).header('location', `/v1/admin/backups/${backup.id}`).send(backup);
    },
  );

  app.get(
    '/admin/backups',
    {
      schema: {
        tags,
        summary: 'List the backups in the backup directory and those of this run, newest first',
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['backups'],
            properties: { backups: { type: 'array', items: { $ref: 'backup#' } } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async () => ({ backups: await backups.list() }),
  );

  app.get<{ Params: { id: string } }>(
    '/admin/backups/:id',
    {
      schema: {
        tags,
        summary: 'One backup: running, completed (its manifest) or failed (why)',
        security: SECURITY,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', pattern: BACKUP_ID_PATTERN } },
        },
        response: { 200: { $ref: 'backup#' }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const backup = await backups.get(request.params.id);
      if (!backup) throw new StateError('NOT_FOUND', 'no backup with that id');
      return backup;
    },
  );
};

export default adminBackupRoutes;
