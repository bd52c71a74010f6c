/**
 * The node's configuration: one typed loader, called once by `main`, that validates every setting
 * and reports every bad one at once. Nothing here reads the environment at import time; defaults
 * live in one exported table.
 *
 * Precedence, lowest first: {@link DEFAULT_CONFIG}, the JSON file named by `EVIDENCE_CONFIG`, the
 * environment (`EVIDENCE_*`, and plain `HOST`/`PORT` below their `EVIDENCE_` forms), `overrides`.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_BATCH_RECORDS } from '../core/batch';
import { ValidationError, type FieldError } from '../core/errors';
import { NAME_PATTERN } from '../core/evidence';
import { CHAIN_ID_PATTERN } from '../core/trust';

export const LEDGER_KINDS = ['embedded', 'fabric'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Interface to listen on. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Directory of the ledger, the node key and the API keys (absolute after loading). */
  readonly dataDir: string;
  /** The organisation that runs this node; the gateway submits batches as this MSP. */
  readonly org: string;
  /** Chain id; the ledger picks its own default when unset. */
  readonly chainId: string | undefined;
  /** Ledger adapter. Only `embedded` is available in this build. */
  readonly ledger: 'embedded';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number;
  /** Items per `POST /v1/evidence/batch` request. */
  readonly batchMaxItems: number;
  /** Records per ledger transaction (group commit). */
  readonly groupCommitMax: number;
  /** How long the first waiting record may wait for others to join its transaction. */
  readonly groupCommitDelayMs: number;
  /** Deadline of one ledger call. */
  readonly submitTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** The API keys file (absolute after loading). */
  readonly keysFile: string;
}

/** Defaults of every setting; `keysFile` defaults to `<dataDir>/keys.json`. */
export const DEFAULT_CONFIG = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  org: 'NodeOrg',
  chainId: undefined,
  ledger: 'embedded',
  bodyLimit: 1_048_576,
  batchMaxItems: 1000,
  groupCommitMax: 1000,
  groupCommitDelayMs: 2,
  submitTimeoutMs: 15_000,
  logLevel: 'info',
  keysFile: undefined,
} as const satisfies { readonly [K in keyof Config]: Config[K] | undefined };

type Key = keyof Config;

/** Environment variable of each setting (after the `EVIDENCE_` prefix). */
export const CONFIG_VARIABLES: Readonly<Record<Key, string>> = {
  host: 'HOST',
  port: 'PORT',
  dataDir: 'DATA_DIR',
  org: 'ORG',
  chainId: 'CHAIN_ID',
  ledger: 'LEDGER',
  bodyLimit: 'BODY_LIMIT',
  batchMaxItems: 'BATCH_MAX_ITEMS',
  groupCommitMax: 'GROUP_COMMIT_MAX',
  groupCommitDelayMs: 'GROUP_COMMIT_DELAY_MS',
  submitTimeoutMs: 'SUBMIT_TIMEOUT_MS',
  logLevel: 'LOG_LEVEL',
  keysFile: 'KEYS_FILE',
};

const PREFIX = 'EVIDENCE_';
/** Settings also read from an unprefixed variable, as platforms that assign ports expect. */
const PLAIN_VARIABLES: readonly Key[] = ['host', 'port'];

type Parser = (value: unknown) => { value: unknown } | { problem: string; rule: string };

function integer(min: number, max: number): Parser {
  return (value) => {
    const number =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d+$/.test(value.trim())
          ? Number(value)
          : NaN;
    if (!Number.isSafeInteger(number) || number < min || number > max) {
      return { rule: 'integer', problem: `must be an integer from ${min} to ${max}` };
    }
    return { value: number };
  };
}

function text(pattern?: string, hint?: string): Parser {
  const re = pattern ? new RegExp(pattern) : undefined;
  return (value) => {
    if (typeof value !== 'string' || value.trim() === '')
      return { rule: 'type', problem: 'must be a non-empty string' };
    if (re && !re.test(value))
      return { rule: 'pattern', problem: `must be ${hint ?? `like ${pattern}`}` };
    return { value };
  };
}

function oneOf(
  options: readonly string[],
  unavailable: Readonly<Record<string, string>> = {},
): Parser {
  return (value) => {
    if (typeof value === 'string' && unavailable[value])
      return { rule: 'enum', problem: unavailable[value] };
    if (typeof value !== 'string' || !options.includes(value)) {
      return { rule: 'enum', problem: `must be one of ${options.join(', ')}` };
    }
    return { value };
  };
}

const PARSERS: Readonly<Record<Key, Parser>> = {
  host: text(),
  port: integer(0, 65_535),
  dataDir: text(),
  org: text(NAME_PATTERN, 'an identifier (letters, digits, . _ @ -)'),
  chainId: text(CHAIN_ID_PATTERN, 'an identifier (letters, digits, . _ @ -)'),
  ledger: oneOf(['embedded'], { fabric: 'fabric is not available in this build' }),
  bodyLimit: integer(1024, 100 * 1_048_576),
  batchMaxItems: integer(1, MAX_BATCH_RECORDS),
  groupCommitMax: integer(1, MAX_BATCH_RECORDS),
  groupCommitDelayMs: integer(0, 10_000),
  submitTimeoutMs: integer(100, 600_000),
  logLevel: oneOf(LOG_LEVELS),
  keysFile: text(),
};

const KEYS = Object.keys(PARSERS) as Key[];

interface Source {
  readonly value: unknown;
  /** Where the value came from, named in error messages: a variable, or a key of the file. */
  readonly from: string;
}

/**
 * Loads and validates the configuration.
 * @param env the environment to read (default `process.env`, read at call time).
 * @param overrides values that win over everything else (tests, embedding).
 * @throws ValidationError `CONFIG_INVALID` listing every bad setting, each as `/<key>`.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
): Config {
  const errors: FieldError[] = [];
  const sources = new Map<Key, Source>();

  const file = env[`${PREFIX}CONFIG`];
  if (file !== undefined && file !== '') readConfigFile(file, sources, errors);

  for (const key of KEYS) {
    const name = PREFIX + CONFIG_VARIABLES[key];
    const plain = PLAIN_VARIABLES.includes(key) ? CONFIG_VARIABLES[key] : undefined;
    if (env[name] !== undefined && env[name] !== '')
      sources.set(key, { value: env[name], from: name });
    else if (plain && env[plain] !== undefined && env[plain] !== '') {
      sources.set(key, { value: env[plain], from: plain });
    }
  }
  for (const key of KEYS) {
    if (key in overrides && overrides[key] !== undefined) {
      sources.set(key, { value: overrides[key], from: `override ${key}` });
    }
  }

  const values: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, source] of sources) {
    const parsed = PARSERS[key](source.value);
    if ('problem' in parsed) {
      errors.push({
        path: `/${key}`,
        rule: parsed.rule,
        message: `${source.from} ${parsed.problem}`,
      });
    } else {
      values[key] = parsed.value;
    }
  }
  if (errors.length > 0) {
    const where = errors.map((error) => error.path).join(', ');
    throw new ValidationError(
      'CONFIG_INVALID',
      `configuration is invalid (${errors.length} problem${errors.length > 1 ? 's' : ''}: ${where})`,
      errors,
    );
  }

  const dataDir = path.resolve(values.dataDir as string);
  const keysFile =
    values.keysFile === undefined
      ? path.join(dataDir, 'keys.json')
      : path.resolve(values.keysFile as string);
  return { ...(values as unknown as Config), dataDir, keysFile };
}

function readConfigFile(file: string, sources: Map<Key, Source>, errors: FieldError[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    errors.push({
      path: '/config',
      rule: 'file',
      message: `${PREFIX}CONFIG ${file} cannot be read (${reason})`,
    });
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    errors.push({
      path: '/config',
      rule: 'type',
      message: `${PREFIX}CONFIG ${file} must hold a JSON object`,
    });
    return;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!(KEYS as string[]).includes(key)) {
      errors.push({
        path: `/${key}`,
        rule: 'additionalProperties',
        message: `${key} in ${file} is not a setting`,
      });
    } else if (value !== null) {
      sources.set(key as Key, { value, from: `${key} in ${file}` });
    }
  }
}
