/**
 * `evidence dossier --gateway URL --out D.pdf|D.json`: fetches a node's compliance dossier (what the
 * node says about itself for a court examining the platform: operators, algorithms and standards,
 * software and code digest, chain statistics, anchors, audit), checks it against the dossier
 * schema, and writes it as a PDF for people or as the JSON itself. Needs an admin key.
 *
 * The dossier is the node's own statement: it is validated for shape, not believed. Its digests
 * and keys can be compared with trust files, receipts and the public page.
 */

import { parseComplianceDossier, type ComplianceDossier } from '../../core/dossier';
import { isEvidenceError } from '../../core/errors';
import { CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, usage, type Command } from '../command';
import { assertWritable, outputFile, writeOutput } from '../document-output';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { createGatewayClient, parseGatewayUrl } from '../node-client';

const OPTIONS = {
  gateway: { type: 'string' },
  key: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const FORMATS = { '.pdf': 'pdf', '.json': 'json' } as const;

const HELP = `Usage: evidence dossier --gateway URL [--key KEY] --out FILE.pdf|FILE.json [--force] [--json]

Fetches the node's compliance dossier (GET /v1/admin/dossier, admin key): the node's and the
organisations' identities, the algorithms and standards it uses and where, its software version
and code digest, chain statistics, anchor targets and the audit summary. Checks it against the
dossier schema, then writes it as a PDF (FILE.pdf) or as JSON (FILE.json).

Options:
  --gateway URL  the node, e.g. https://evidence.example.org
  --key KEY      admin API key (default: $EVIDENCE_API_KEY, which keeps it out of the process list)
  --out FILE     the document to write: .pdf or .json
  --force        overwrite an existing FILE
  --json         print { gateway, out, format, generatedAt, chainId }

Exit status: 0 written, 2 usage error or refused key, 3 file, network or gateway error (an answer
that is not a valid dossier: GATEWAY_RESPONSE_INVALID).
`;

/** The gateway's answer as a dossier. @throws CliError `GATEWAY_RESPONSE_INVALID`. */
function checkDossier(value: unknown): ComplianceDossier {
  try {
    return parseComplianceDossier(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw error;
    throw new CliError(
      'GATEWAY_RESPONSE_INVALID',
      `the gateway's dossier is not valid: ${error.message}`,
      error.fields,
    );
  }
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length > 0)
    throw usage(`dossier takes no arguments; got ${positionals.join(' ')}`);
  if (values.gateway === undefined) throw usage('dossier needs --gateway URL');
  if (values.out === undefined) throw usage('dossier needs --out FILE.pdf or --out FILE.json');
  const apiKey = (values.key ?? io.env.EVIDENCE_API_KEY)?.trim();
  if (apiKey === undefined || apiKey === '')
    throw usage('dossier needs an admin API key: --key KEY or the EVIDENCE_API_KEY variable');
  if (/[\r\n]/.test(apiKey)) throw usage('the API key must be one line');
  const out = outputFile(io, '--out', values.out, FORMATS);
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  await assertWritable(out, values.force === true);

  const dossier = checkDossier(await client.dossier(apiKey));
  await writeOutput(
    out,
    out.format === 'pdf'
      ? // Loaded only here: the PDF toolkit costs every other command ~0.2 s to load.
        await (await import('../../documents/dossier')).renderDossierPdf(dossier)
      : jsonText(dossier),
  );
  if (values.json === true) {
    io.stdout(
      jsonText({
        gateway: client.url,
        out: out.shown,
        format: out.format,
        generatedAt: dossier.generatedAt,
        chainId: dossier.chain.chainId,
      }),
    );
  } else {
    io.stdout(
      `dossier of ${dossier.node.name} (chain ${dossier.chain.chainId}, generated ${dossier.generatedAt})\nwrote ${out.shown}\n`,
    );
  }
  return EXIT_OK;
}

export const dossierCommand: Command = {
  name: 'dossier',
  summary: "fetch a node's compliance dossier and write it as PDF or JSON",
  help: HELP,
  run,
};
