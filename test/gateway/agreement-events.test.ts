/**
 * `GET /v1/agreements/events` on a real listening server (port 0, 127.0.0.1) read with fetch and a
 * streaming reader: committed transitions arrive with `id:` lines, filtered by who may see them,
 * resumable with `Last-Event-ID`, with heartbeats, and the stream ends when the node shuts down.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DOCUMENT,
  act,
  activeAgreement,
  expectOk,
  makeAgreementApp,
  termsFor,
  type AgreementApp,
} from './agreement-helpers';

interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

interface OpenStream {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: SseEvent[];
  readonly comments: string[];
  /** Resolves once `count` events arrived (fails after 10 s). */
  waitFor(count: number): Promise<SseEvent[]>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

async function openStream(url: string, key: string, lastEventId?: string): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/agreements/events`, {
    headers: {
      authorization: `Bearer ${key}`,
      accept: 'text/event-stream',
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters: Array<() => void> = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const at = line.indexOf(': ');
              if (at > 0) fields[line.slice(0, at)] = line.slice(at + 2);
            }
          }
          if (fields.data !== undefined) {
            events.push({
              ...(fields.id === undefined ? {} : { id: fields.id }),
              event: fields.event ?? 'message',
              data: JSON.parse(fields.data) as Record<string, unknown>,
            });
            for (const wake of waiters.splice(0)) wake();
          }
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    comments,
    ended,
    waitFor: async (count) => {
      const until = Date.now() + 10_000;
      while (events.length < count) {
        if (Date.now() > until)
          throw new Error(`got ${events.length} of ${count} events: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return events.slice(0, count);
    },
    close: () => controller.abort(),
  };
}

describe('GET /v1/agreements/events', () => {
  let t: AgreementApp;
  let url: string;
  const streams: OpenStream[] = [];

  beforeEach(async () => {
    t = await makeAgreementApp({ config: { agreementEventsHeartbeatMs: 50 } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await t.close();
  });

  async function stream(key: string, lastEventId?: string): Promise<OpenStream> {
    const opened = await openStream(url, key, lastEventId);
    streams.push(opened);
    return opened;
  }

  it('streams each committed transition to those who may see it, with ids', async () => {
    const court = await stream(t.cast.court);
    const debtor = await stream(t.cast.debtor);
    const stranger = await stream(t.cast.stranger);
    expect(court.status).toBe(200);
    expect(court.contentType).toBe('text/event-stream; charset=utf-8');

    const created = await expectOk(
      act(t, t.cast.mediator, undefined, undefined, termsFor('med-a')),
      201,
    );
    const signed = await expectOk(
      act(t, t.cast.creditor, 'med-a', 'sign', { documentDigest: DOCUMENT }),
    );
    // An agreement between the creditor and the stranger: the debtor must not see it.
    const other = termsFor('med-b');
    await expectOk(
      act(t, t.cast.creditor, undefined, undefined, {
        ...other,
        parties: [other.parties[0], { ...other.parties[1], org: 'OtherOrg', account: 'someone' }],
      }),
      201,
    );

    const seen = await court.waitFor(3);
    expect(seen.map((e) => [e.event, e.data.agreementId, e.data.action, e.data.to])).toEqual([
      ['transition', 'med-a', 'create', 'draft'],
      ['transition', 'med-a', 'sign', 'draft'],
      ['transition', 'med-b', 'create', 'draft'],
    ]);
    expect(seen[0]!.data).toEqual(created.transition);
    expect(seen[1]!.data).toEqual(signed.transition);
    expect(new Set(seen.map((e) => e.id)).size).toBe(3);
    expect(seen.every((e) => /^[0-9a-f]{8}-[1-9][0-9]*$/.test(e.id ?? ''))).toBe(true);

    expect((await debtor.waitFor(2)).map((e) => e.data.agreementId)).toEqual(['med-a', 'med-a']);
    expect((await stranger.waitFor(1)).map((e) => e.data.agreementId)).toEqual(['med-b']);
    // Nothing more arrives for them (the court's third event was seen already).
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(debtor.events).toHaveLength(2);
    expect(stranger.events).toHaveLength(1);
  });

  it('includes the transitions the scheduler submits', async () => {
    await activeAgreement(t, 'med-c');
    const court = await stream(t.cast.court);
    t.clock.set('2026-02-05T00:00:00Z');
    await t.app.agreements.scheduler.runDue();
    const [event] = await court.waitFor(1);
    expect(event!.data).toMatchObject({
      agreementId: 'med-c',
      from: 'active',
      to: 'defaulted',
      action: 'checkDue',
    });
  });

  it('resumes after Last-Event-ID, and announces a gap for an id it no longer holds', async () => {
    const first = await stream(t.cast.court);
    await activeAgreement(t, 'med-d');
    const before = await first.waitFor(3);
    first.close();
    await expectOk(act(t, t.cast.court, 'med-d', 'terminate', { reason: 'court-order' }));

    const resumed = await stream(t.cast.court, before[0]!.id);
    const replayed = await resumed.waitFor(3);
    expect(replayed.map((e) => e.data.action)).toEqual(['sign', 'sign', 'terminate']);
    expect(replayed[0]!.id).toBe(before[1]!.id);

    // Live events follow the replay on the same stream.
    await expectOk(act(t, t.cast.mediator, undefined, undefined, termsFor('med-e')), 201);
    expect((await resumed.waitFor(4))[3]!.data).toMatchObject({
      agreementId: 'med-e',
      action: 'create',
    });

    // An id from another process (or long gone): a gap notice, then everything held.
    const stale = await stream(t.cast.court, '0000abcd-7');
    const all = await stale.waitFor(6);
    expect(all[0]).toEqual({ event: 'gap', data: { lastEventId: '0000abcd-7' } });
    expect(all.slice(1).map((e) => e.data.action)).toEqual([
      'create',
      'sign',
      'sign',
      'terminate',
      'create',
    ]);
  });

  it('sends heartbeats on an idle stream', async () => {
    const idle = await stream(t.cast.debtor);
    const until = Date.now() + 5000;
    while (idle.comments.filter((c) => c.startsWith('heartbeat')).length < 2) {
      if (Date.now() > until) throw new Error(`no heartbeats: ${JSON.stringify(idle.comments)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(idle.comments[0]).toBe('connected');
  });

  it('ends every stream when the node shuts down, without waiting for the clients', async () => {
    const court = await stream(t.cast.court);
    const debtor = await stream(t.cast.debtor);
    expect(t.app.agreements.events.subscribers).toBe(2);
    const started = Date.now();
    await t.stop();
    await Promise.all([court.ended, debtor.ended]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(t.app.agreements.events.subscribers).toBe(0);
  });

  it('unsubscribes a client that disconnects', async () => {
    const court = await stream(t.cast.court);
    expect(t.app.agreements.events.subscribers).toBe(1);
    court.close();
    const until = Date.now() + 5000;
    while (t.app.agreements.events.subscribers > 0) {
      if (Date.now() > until) throw new Error('still subscribed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});
