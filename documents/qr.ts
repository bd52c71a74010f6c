/**
 * QR codes on reports and certificates. The code points a phone at the node's public verification
 * page for the file's digest (`BASE?digest=sha256:...`); without a public page it carries the
 * digest itself, so a reader can still compare it with a scanner. Error correction level M
 * (ISO/IEC 18004 §4.13: about 15% of the symbol may be damaged), which survives printing and
 * scanning. Output is deterministic: the same text always gives the same bytes.
 */

import QRCode from 'qrcode';
import type { Digest } from '../core/digest';
import { ValidationError } from '../core/errors';

const OPTIONS = { errorCorrectionLevel: 'M', margin: 1 } as const;

/**
 * What the QR code encodes: `${publicVerifyUrl}?digest=sha256:...` (or `&digest=` when the URL
 * already has a query), or the digest alone when there is no public page.
 * @throws ValidationError `VALIDATION_FAILED` when `publicVerifyUrl` is not an http(s) URL.
 */
export function qrTarget(digest: Digest, publicVerifyUrl?: string): string {
  if (publicVerifyUrl === undefined || publicVerifyUrl === '') return digest;
  let url: URL | undefined;
  try {
    url = new URL(publicVerifyUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash !== '') {
    throw new ValidationError('VALIDATION_FAILED', 'the public verification URL is invalid', [
      {
        path: '/publicVerifyUrl',
        rule: 'url',
        message: 'must be an http(s) URL without a #fragment',
      },
    ]);
  }
  return `${publicVerifyUrl}${publicVerifyUrl.includes('?') ? '&' : '?'}digest=${digest}`;
}

/** PNG bytes of the QR code of `text`, `scale` pixels per module. */
export function qrPng(text: string, scale = 6): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...OPTIONS, type: 'png', scale });
}

/** An SVG document of the QR code of `text`: one path, dark modules on a white square. */
export function qrSvg(text: string): string {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: OPTIONS.errorCorrectionLevel });
  const margin = OPTIONS.margin;
  const size = modules.size + 2 * margin;
  let path = '';
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (modules.data[row * modules.size + col])
        path += `M${col + margin} ${row + margin}h1v1h-1z`;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`
  );
}

/** The QR code as a `data:image/svg+xml;base64,...` URI, for self-contained HTML. */
export function qrSvgDataUri(text: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(qrSvg(text), 'utf8').toString('base64')}`;
}
