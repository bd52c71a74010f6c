/**
 * `evidence certificate RECEIPT --out CERT.pdf`: the deposit certificate (存证证书) of a receipt,
 * one A4 page a depositor can print and file. It summarises the receipt for people and proves
 * nothing by itself (it says so); what proves the deposit is the receipt, checked by
 * `evidence verify`. Offline: the receipt is read here and rendered here.
 */

import { isEvidenceError } from '../../core/errors';
import { parseReceipt } from '../../core/receipt';
import { CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { assertWritable, outputFile, parsePublicUrl, writeOutput } from '../document-output';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { readJsonFile } from '../files';

const OPTIONS = {
  out: { type: 'string' },
  'node-name': { type: 'string' },
  'public-url': { type: 'string' },
  'depositor-name': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence certificate RECEIPT --out CERT.pdf [--node-name NAME] [--public-url URL]
                            [--depositor-name NAME] [--force] [--json]

Writes the deposit certificate of RECEIPT: one A4 page, in Chinese and English, with the
certificate number, the digests, the chain facts, the issuing node and how to verify. The
certificate proves nothing by itself; the receipt, checked with \`evidence verify\`, does.

Options:
  --out FILE             the certificate to write (.pdf)
  --node-name NAME       the issuing node as printed (default: the organisation that submitted
                         the deposit transaction, as the receipt names it)
  --public-url URL       the node's public verification page; the QR code opens it for the
                         file's digest (without it the QR code holds the digest itself)
  --depositor-name NAME  the depositor's real name, printed masked (张三丰 -> 张某)
  --force                overwrite an existing FILE
  --json                 print { receipt, number, digest, out }

Exit status: 0 written, 2 usage error or malformed receipt, 3 file error.
`;

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('certificate needs the RECEIPT file');
  if (extra.length > 0) throw usage(`certificate takes one RECEIPT; also got ${extra.join(' ')}`);
  if (values.out === undefined) throw usage('certificate needs --out CERT.pdf');
  const out = outputFile(io, '--out', values.out, { '.pdf': 'pdf' });
  const publicUrl =
    values['public-url'] !== undefined ? parsePublicUrl(values['public-url']) : undefined;
  const nodeName = values['node-name']?.trim();
  if (nodeName === '') throw usage('--node-name must not be empty');
  await assertWritable(out, values.force === true);

  const { value } = await readJsonFile(resolvePath(io, shown), shown, 'receipt');
  let receipt;
  try {
    receipt = parseReceipt(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw error;
    throw new CliError('RECEIPT_MALFORMED', `${shown}: ${error.message}`, error.fields);
  }
  // Loaded here, not at start-up: the PDF toolkit costs every other command ~0.2 s to load.
  const { certificateNumber, renderCertificatePdf } = await import('../../documents/certificate');
  const pdf = await renderCertificatePdf({
    receipt,
    issuingNode: {
      name: nodeName ?? receipt.proof.tx.creator.mspId,
      chainId: receipt.ledger.chainId,
    },
    ...(publicUrl !== undefined ? { publicVerifyUrl: publicUrl } : {}),
    ...(values['depositor-name'] !== undefined ? { depositorName: values['depositor-name'] } : {}),
  });
  await writeOutput(out, pdf);
  const number = certificateNumber(receipt);
  const digest = receipt.record.digests[0];
  if (values.json === true) {
    io.stdout(jsonText({ receipt: shown, number, digest, out: out.shown }));
  } else {
    io.stdout(`certificate ${number} for ${digest}\nwrote ${out.shown}\n`);
  }
  return EXIT_OK;
}

export const certificateCommand: Command = {
  name: 'certificate',
  summary: 'write the deposit certificate (PDF) of a receipt',
  help: HELP,
  run,
};
