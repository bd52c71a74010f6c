import { it } from 'vitest';
import { itemFor, makeTestApp, postJson } from './helpers';
it('debug', async () => {
  const t = await makeTestApp({ maxQueued: 3 });
  const key = await t.keyFor('platform');
  t.ledger.holdSubmits();
  const inFlight = postJson(t.app, '/v1/evidence', key, itemFor());
  await new Promise(r => setTimeout(r, 100));
  const second = t.app.inject({ method: 'POST', url: '/v1/evidence', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, payload: JSON.stringify(itemFor()) });
  await new Promise(r => setTimeout(r, 300));
  console.log('waiting', t.app.evidence.waiting, 'submits', t.ledger.submits.length);
  t.ledger.releaseSubmits();
  const a = await Promise.race([inFlight, new Promise(r => setTimeout(() => r('pending'), 2000))]);
  console.log('first', typeof a === 'string' ? a : (a as any).statusCode);
  const b = await Promise.race([second, new Promise(r => setTimeout(() => r('pending'), 2000))]);
  console.log('second', typeof b === 'string' ? b : (b as any).statusCode, typeof b === 'string' ? '' : (b as any).body.slice(0,200));
  await t.close();
});
