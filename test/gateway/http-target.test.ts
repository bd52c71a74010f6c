import { describe, expect, it } from 'vitest';
import { formatDigest } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import { createHttpTarget, MAX_TARGET_ANSWER_BYTES } from '../../gateway/anchoring/http-target';
import { makeAnchorProof, makeNodeKey, trustFor } from '../support/receipt-factory';

const input = {
  sourceChainId: 'evidence-chain',
  blockNumber: 4,
  headerHash: formatDigest('sha256', Buffer.alloc(32, 4)),
};

interface Seen {
  url: string;
  init: RequestInit | undefined;
}

function targetAnswering(answer: (seen: Seen) => Response | Promise<Response>, timeoutMs = 1_000) {
  const seen: Seen[] = [];
  const target = createHttpTarget(
    { name: 'court', kind: 'http', url: 'http://court.test/base', apiKey: 'ek_secret' },
    {
      timeoutMs,
      fetch: (async (url: string | URL | Request, init?: RequestInit) => {
        const call = { url: String(url), init };
        seen.push(call);
        return answer(call);
      }) as typeof fetch,
    },
  );
  return { target, seen };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isEvidenceError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('the HTTP anchor target', () => {
  it('posts the anchor with the key and returns the validated answer', async () => {
    const proof = makeAnchorProof({ ...input, headers: [], courtKey: makeNodeKey() });
    const answer = { anchor: proof.anchorTx.result.anchor, proof: proof.anchorTx };
    const { target, seen } = targetAnswering(() => json(201, answer));
    expect(await target.submit(input)).toEqual({ kind: 'chain', ...answer });
    expect(seen[0]?.url).toBe('http://court.test/base/v1/anchors');
    expect(seen[0]?.init?.method).toBe('POST');
    expect(new Headers(seen[0]?.init?.headers).get('authorization')).toBe('Bearer ek_secret');
    expect(JSON.parse(String(seen[0]?.init?.body))).toEqual(input);
  });

  it('fetches and validates the trust file', async () => {
    const trust = trustFor('court-chain', makeNodeKey());
    expect(await targetAnswering(() => json(200, trust)).target.trust()).toEqual(trust);
    expect(await codeOf(targetAnswering(() => json(200, { type: 'x' })).target.trust())).toBe(
      'TRUST_MALFORMED',
    );
  });

  it('turns every failure into a stable code', async () => {
    const cases: [() => Response | Promise<Response>, string][] = [
      [() => json(409, { code: 'ANCHOR_CONFLICT', message: 'x' }), 'ANCHOR_CONFLICT'],
      [() => json(409, { code: 'ANCHOR_REGRESSION', message: 'x' }), 'ANCHOR_REGRESSION'],
      [() => json(401, { code: 'UNAUTHENTICATED', message: 'x' }), 'UNAUTHENTICATED'],
      [() => json(403, { code: 'FORBIDDEN', message: 'x' }), 'FORBIDDEN'],
      [() => json(500, { code: 'INTERNAL', message: 'x' }), 'LEDGER_UNAVAILABLE'],
      [() => new Response('<html>bad gateway</html>', { status: 502 }), 'LEDGER_UNAVAILABLE'],
      [() => json(201, { anchor: {}, proof: {} }), 'ANCHOR_PROOF_INVALID'],
      [
        () => new Response('x'.repeat(MAX_TARGET_ANSWER_BYTES + 1), { status: 201 }),
        'ANCHOR_PROOF_INVALID',
      ],
      [
        () => {
          throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
        },
        'LEDGER_UNAVAILABLE',
      ],
    ];
    for (const [answer, code] of cases) {
      expect(await codeOf(targetAnswering(answer).target.submit(input)), code).toBe(code);
    }
  });

  it('gives up at its deadline (LEDGER_TIMEOUT) and on shutdown (LEDGER_CLOSED)', async () => {
    const hang = ({ init }: Seen) =>
      new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    expect(await codeOf(targetAnswering(hang, 50).target.submit(input))).toBe('LEDGER_TIMEOUT');
    const stop = new AbortController();
    const pending = targetAnswering(hang, 10_000).target.submit(input, { signal: stop.signal });
    stop.abort();
    expect(await codeOf(pending)).toBe('LEDGER_CLOSED');
  });
});
