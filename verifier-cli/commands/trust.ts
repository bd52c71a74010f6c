/**
 * `evidence trust fetch --gateway URL`: downloads the node's trust file, validates it and pins it
 * locally. Fetching over the network proves nothing about who runs the node, so the command prints
 * the fingerprint to be compared with the operator's through another channel.
 * `evidence trust show FILE`: the fingerprint and chains of a local trust file, for that comparison.
 * `evidence trust update FILE --gateway URL`: takes the node's trust file after a key rotation
 * only if its signed rotations lead to it from the keys FILE pins (core/trust-update.ts), so the
 * out-of-band comparison is not needed again.
 * `evidence trust compromise FILE --key ID --since TIME`: the court's decision that a pinned key
 * may have been in other hands from TIME on (`compromisedSince`, core/trust.ts): from then on
 * blocks it signed count only when an anchor dates them before TIME.
 * `evidence trust add-authority FILE --name NAME --cert PEM`: pins an RFC 3161 time-stamp
 * authority's key from its certificate, so receipts stamped by it (`evidence timestamp`) verify.
 */

import { isEvidenceError } from '../../core/errors';
import { authorityCertificate, type AuthorityCertificate } from '../../core/timestamp-authority';
import { parseJson } from '../../core/schema';
import {
  CHAIN_ID_PATTERN,
  TRUST_FILE_TYPE,
  TRUST_TIME_PATTERN,
  trustFingerprint,
  type TrustedChain,
  type TrustFile,
  type TrustedKey,
} from '../../core/trust';
import { followKeyRotations, parseKeyRotationProofs } from '../../core/trust-update';
import { CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { readIfExists, writeFileAtomic } from '../files';
import { createGatewayClient, parseGatewayUrl } from '../node-client';
import { describeTrust, loadTrustFile, validateTrust } from '../trust-input';

export const DEFAULT_TRUST_FILE = 'trust.json';

const FETCH_OPTIONS = {
  gateway: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const SHOW_OPTIONS = { json: { type: 'boolean' } } as const;

const UPDATE_OPTIONS = {
  gateway: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const COMPROMISE_OPTIONS = {
  key: { type: 'string' },
  since: { type: 'string' },
  clear: { type: 'boolean' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const AUTHORITY_OPTIONS = {
  name: { type: 'string' },
  cert: { type: 'string' },
  policy: { type: 'string', multiple: true },
  operator: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence trust fetch --gateway URL [--out FILE] [--force] [--json]
       evidence trust show FILE [--json]
       evidence trust update FILE --gateway URL [--out NEW] [--json]
       evidence trust compromise FILE --key KEY_ID (--since TIME | --clear) [--out NEW] [--json]
       evidence trust add-authority FILE --name NAME --cert PEM [--policy OID...] [--operator TEXT]
                                     [--out NEW] [--json]

fetch  downloads the gateway's trust file (GET /v1/trust), validates it, prints its fingerprint
       and writes it to FILE (default ${DEFAULT_TRUST_FILE}). An existing different file is kept
       unless --force is given.
show   prints the fingerprint and pinned chains and keys of a local trust file.
update after the node rotated its key: fetches its trust file and its key rotations
       (GET /v1/trust/rotations) and checks each rotation from the keys FILE pins: a block
       signed by a pinned key, valid at its time, naming the new key with the new key's own
       signature. Writes the node's keys to NEW (default FILE itself) only if they are exactly
       the ones the rotations lead to; otherwise exits 1 (TRUST_NOT_VOUCHED) and writes nothing.
       No out-of-band comparison is needed for a file accepted this way.
compromise
       marks a pinned key as possibly in other hands from TIME on (RFC 3339 UTC, e.g.
       2026-11-20T00:00:00Z), when its theft is known or suspected. Whoever holds the key can
       sign a block with any time, so from then on a receipt whose block it signed verifies
       only if an anchor, signed by a key not so marked, shows the block existed before TIME
       (otherwise UNTRUSTED, KEY_COMPROMISED), and trust update follows no rotation it signed.
       --clear removes the mark. Writes NEW (default FILE itself). The mark is the keeper's:
       no node sets it, and trust update keeps it.
add-authority
       pins a trusted time-stamp authority (RFC 3161) under NAME: the public key of the
       certificate in PEM (its first certificate: the authority's own), which must be for time
       stamping (extended key usage timeStamping), RSA of 2048 bits or more, ECDSA P-256 or SM2,
       valid from its notBefore to its notAfter. Prints the certificate's SHA-256 fingerprint:
       compare it with the one the authority publishes before relying on the file. A key added
       to an authority already pinned joins its keys (its old tokens keep verifying). --policy
       (repeatable) accepts only tokens issued under these policies (dotted OIDs, e.g.
       0.4.0.2023.1.1), added to those already accepted; without it, any policy. FILE is
       created when it does not exist; writes NEW (default FILE itself).

A trust file fetched over the network is only as good as the network: compare its fingerprint
with the one the node's operator publishes through another channel (a court notice, a phone
call) before relying on it.

Exit status: 0 done, 1 update not vouched for, 2 usage error or malformed trust file,
3 file or network error.
`;

const ADVICE =
  'Compare this fingerprint with the one the node operator publishes through another channel\n' +
  '(court notice, letter, phone) before relying on this trust file.\n';

async function fetchTrust(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, FETCH_OPTIONS);
  if (positionals.length > 0)
    throw usage(`trust fetch takes no arguments; got ${positionals.join(' ')}`);
  if (values.gateway === undefined) throw usage('trust fetch needs --gateway URL');
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  const shown = values.out ?? DEFAULT_TRUST_FILE;
  const path = resolvePath(io, shown);

  const text = await client.trust();
  const source = `from ${client.url}`;
  const trust = validateTrust(parseJson(text, `trust file ${source}`), `trust file ${source}`);
  const fingerprint = trustFingerprint(trust);

  const existing = await readIfExists(path, shown);
  const unchanged = existing !== undefined && fingerprintOf(existing) === fingerprint;
  if (existing !== undefined && !unchanged && values.force !== true) {
    throw new CliError(
      'OUTPUT_EXISTS',
      `${shown} exists and pins something else; compare it with the new fingerprint ${fingerprint}, then move it away or pass --force`,
    );
  }
  if (!unchanged) await writeFileAtomic(path, shown, jsonText(trust));

  if (values.json === true) {
    io.stdout(
      jsonText({ gateway: client.url, file: shown, fingerprint, unchanged, chains: trust.chains }),
    );
  } else {
    io.stdout(
      `fingerprint ${fingerprint}\n${describeTrust(trust)}` +
        `${unchanged ? 'unchanged' : 'wrote'} ${shown}\n\n${ADVICE}`,
    );
  }
  return EXIT_OK;
}

/** Fingerprint of an existing file's content, `undefined` when it is not a valid trust file. */
function fingerprintOf(data: Buffer): string | undefined {
  try {
    return trustFingerprint(
      validateTrust(JSON.parse(data.toString('utf8')) as unknown, '') as TrustFile,
    );
  } catch {
    return undefined;
  }
}

async function showTrust(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, SHOW_OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('trust show needs a trust FILE');
  if (extra.length > 0) throw usage(`trust show takes one FILE; also got ${extra.join(' ')}`);
  const loaded = await loadTrustFile(io, shown);
  if (values.json === true) {
    io.stdout(
      jsonText({ file: shown, fingerprint: loaded.fingerprint, chains: loaded.trust.chains }),
    );
  } else {
    io.stdout(`fingerprint ${loaded.fingerprint}\n${describeTrust(loaded.trust)}`);
  }
  return EXIT_OK;
}

async function updateTrust(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, UPDATE_OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('trust update needs the pinned trust FILE');
  if (extra.length > 0) throw usage(`trust update takes one FILE; also got ${extra.join(' ')}`);
  if (values.gateway === undefined) throw usage('trust update needs --gateway URL');
  const pinned = await loadTrustFile(io, shown);
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  const source = `from ${client.url}`;
  const offered = validateTrust(
    parseJson(await client.trust(), `trust file ${source}`),
    `trust file ${source}`,
  );
  let proofs;
  try {
    proofs = parseKeyRotationProofs(await client.trustRotations());
  } catch (error) {
    if (!isEvidenceError(error)) throw error;
    throw new CliError(
      'GATEWAY_RESPONSE_INVALID',
      `the key rotations ${source} are malformed: ${error.message}`,
    );
  }
  const outcome = followKeyRotations(pinned.trust, offered, proofs);
  if (!outcome.ok) {
    throw new CliError(
      'TRUST_NOT_VOUCHED',
      `the trust file ${source} does not follow from ${shown}: ${outcome.detail}. ${shown} is unchanged; ` +
        'pin the new file only after comparing its fingerprint out of band (evidence trust fetch)',
    );
  }
  const fingerprint = trustFingerprint(outcome.trust);
  const unchanged = fingerprint === pinned.fingerprint;
  const out = values.out ?? shown;
  if (!unchanged || out !== shown) {
    await writeFileAtomic(resolvePath(io, out), out, jsonText(outcome.trust));
  }
  const added = outcome.added.map((rotation) => ({
    keyId: rotation.keyId,
    algorithm: rotation.algorithm,
    previousKeyId: rotation.previousKeyId,
    time: rotation.time,
  }));
  if (values.json === true) {
    io.stdout(
      jsonText({
        gateway: client.url,
        pinned: shown,
        file: out,
        chainId: proofs.chainId,
        previousFingerprint: pinned.fingerprint,
        fingerprint,
        unchanged,
        added,
        chains: outcome.trust.chains,
      }),
    );
  } else {
    const lines = added.map(
      (a) =>
        `  ${a.time}: ${a.previousKeyId} handed over to ${a.keyId} (${a.algorithm}; signed by the pinned key)`,
    );
    io.stdout(
      (unchanged
        ? `no new key: ${shown} already pins every key of ${proofs.chainId}\n`
        : `${added.length} key rotation(s) of ${proofs.chainId} checked from the keys ${shown} pins:\n` +
          `${lines.join('\n')}\n`) +
        `fingerprint ${fingerprint}\n${describeTrust(outcome.trust)}` +
        `${unchanged && out === shown ? 'unchanged' : 'wrote'} ${out}\n`,
    );
  }
  return EXIT_OK;
}

async function compromiseKey(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, COMPROMISE_OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('trust compromise needs the pinned trust FILE');
  if (extra.length > 0) throw usage(`trust compromise takes one FILE; also got ${extra.join(' ')}`);
  if (values.key === undefined) throw usage('trust compromise needs --key KEY_ID');
  if ((values.since === undefined) === (values.clear !== true))
    throw usage('trust compromise needs either --since TIME or --clear');
  const since = values.since;
  if (
    since !== undefined &&
    (!new RegExp(TRUST_TIME_PATTERN).test(since) || Number.isNaN(Date.parse(since)))
  ) {
    throw usage(
      `--since ${since} is not a time in RFC 3339 UTC, e.g. 2026-11-20T00:00:00Z (Z, no offset)`,
    );
  }
  const pinned = await loadTrustFile(io, shown);
  let found: { chainId: string; key: TrustedKey } | undefined;
  const chains = pinned.trust.chains.map((chain) => ({
    ...chain,
    keys: chain.keys.map((key) => {
      if (key.keyId !== values.key) return key;
      found = { chainId: chain.chainId, key };
      const { compromisedSince: _previous, ...rest } = key;
      return since === undefined ? rest : { ...rest, compromisedSince: since };
    }),
  }));
  if (!found) throw usage(`${shown} pins no key ${values.key}`);
  const trust = validateTrust({ ...pinned.trust, chains }, shown);
  const fingerprint = trustFingerprint(trust);
  const out = values.out ?? shown;
  await writeFileAtomic(resolvePath(io, out), out, jsonText(trust));
  const previous = found.key.compromisedSince;
  if (values.json === true) {
    io.stdout(
      jsonText({
        pinned: shown,
        file: out,
        chainId: found.chainId,
        keyId: values.key,
        compromisedSince: since ?? null,
        previousCompromisedSince: previous ?? null,
        previousFingerprint: pinned.fingerprint,
        fingerprint,
      }),
    );
  } else {
    const what =
      since === undefined
        ? `key ${values.key} of ${found.chainId} is no longer marked compromised`
        : `key ${values.key} of ${found.chainId} marked compromised since ${since}: blocks it ` +
          'signed count only if an anchor dates them before then';
    io.stdout(
      `${what}${previous !== undefined ? ` (it was marked since ${previous})` : ''}
` +
        `fingerprint ${fingerprint}
${describeTrust(trust)}wrote ${out}
`,
    );
  }
  return EXIT_OK;
}

async function addAuthority(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, AUTHORITY_OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('trust add-authority needs the trust FILE');
  if (extra.length > 0)
    throw usage(`trust add-authority takes one FILE; also got ${extra.join(' ')}`);
  const name = values.name;
  if (name === undefined) throw usage('trust add-authority needs --name NAME');
  if (!new RegExp(CHAIN_ID_PATTERN).test(name))
    throw usage(`--name ${JSON.stringify(name)} is not a name a trust file can hold`);
  if (values.cert === undefined) throw usage('trust add-authority needs --cert PEM');
  const pem = await readIfExists(resolvePath(io, values.cert), values.cert);
  if (pem === undefined) throw new CliError('IO_ERROR', `${values.cert} does not exist`);
  let read: AuthorityCertificate;
  try {
    read = authorityCertificate(pem);
  } catch (error) {
    throw usage(`${values.cert}: ${(error as Error).message}`);
  }
  const { key } = read;
  const algorithm = key.algorithm;
  const existing = await readIfExists(resolvePath(io, shown), shown);
  const pinned: TrustFile =
    existing === undefined
      ? { type: TRUST_FILE_TYPE, version: 1, chains: [] }
      : (await loadTrustFile(io, shown)).trust;
  const clash = pinned.chains.find((entry) => entry.chainId === name && entry.kind !== 'rfc3161');
  if (clash) throw usage(`${shown} already names chain ${name}; choose another --name`);
  const known = pinned.chains.find((entry) => entry.chainId === name);
  const already = known?.keys.some((k) => k.keyId === key.keyId) ?? false;
  const operator = values.operator ?? known?.operator;
  const previousPolicies = known?.kind === 'rfc3161' ? (known.policies ?? []) : [];
  const policies = [...new Set([...previousPolicies, ...(values.policy ?? [])])];
  const entry: TrustedChain = {
    kind: 'rfc3161',
    chainId: name,
    ...(operator !== undefined ? { operator } : {}),
    keys: already ? (known?.keys ?? []) : [...(known?.keys ?? []), key],
    ...(policies.length > 0 ? { policies } : {}),
  };
  const chains = known
    ? pinned.chains.map((chain) => (chain === known ? entry : chain))
    : [...pinned.chains, entry];
  const trust = validateTrust({ ...pinned, chains }, shown);
  const fingerprint = trustFingerprint(trust);
  const out = values.out ?? shown;
  await writeFileAtomic(resolvePath(io, out), out, jsonText(trust));
  const certificateFingerprint = read.fingerprint;
  if (values.json === true) {
    io.stdout(
      jsonText({
        file: out,
        authority: name,
        keyId: key.keyId,
        algorithm,
        notBefore: key.notBefore,
        notAfter: key.notAfter,
        subject: read.subject,
        certificateFingerprint,
        policies: policies.length > 0 ? policies : null,
        added: !already,
        fingerprint,
      }),
    );
  } else {
    io.stdout(
      `${already ? 'already pinned' : 'pinned'}: time-stamp authority ${name}, key ${key.keyId} (${algorithm}, valid from ${key.notBefore} until ${key.notAfter})\n` +
        `certificate ${read.subject}\n` +
        `certificate fingerprint ${certificateFingerprint}\n` +
        'Compare this certificate fingerprint with the one the authority publishes before relying on it.\n' +
        `fingerprint ${fingerprint}\n${describeTrust(trust)}wrote ${out}\n`,
    );
  }
  return EXIT_OK;
}

const SUBCOMMANDS: Readonly<
  Record<string, (args: readonly string[], io: CliIo) => Promise<ExitStatus>>
> = {
  fetch: fetchTrust,
  show: showTrust,
  update: updateTrust,
  compromise: compromiseKey,
  'add-authority': addAuthority,
};

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const [name, ...rest] = args;
  const sub =
    name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (sub === undefined) {
    throw usage(`trust needs a subcommand: ${Object.keys(SUBCOMMANDS).join(' or ')}`);
  }
  return sub(rest, io);
}

export const trustCommand: Command = {
  name: 'trust',
  summary:
    "fetch a node's trust file, follow its key rotations, show a trust file, mark a key compromised, or pin a time-stamp authority",
  help: HELP,
  run,
};
