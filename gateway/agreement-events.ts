/**
 * Committed agreement transitions, fanned out to the subscribers of `GET /v1/agreements/events`.
 *
 * Each published transition gets an id `<stream>-<seq>`: `stream` is chosen per process and `seq`
 * counts from 1, so an id from before a restart is recognised as such. The last `capacity` events
 * stay in memory; a client that reconnects with `Last-Event-ID` gets the events after that id when
 * it is still held, else every held event after a `gap` notice (it then re-reads the agreements it
 * cares about). Nothing is persisted: the chain is the record, this is a notification.
 */

import { randomBytes } from 'node:crypto';
import type { AgreementActionName, AgreementStatus } from '../core/agreement';

/** What a subscriber receives for one committed transition. */
export interface AgreementStreamEvent {
  readonly agreementId: string;
  readonly from: AgreementStatus | null;
  readonly to: AgreementStatus;
  readonly action: AgreementActionName;
  readonly txId: string;
  /** Chain time of the transaction. */
  readonly time: string;
  readonly blockNumber: number;
}

/** Who may see an event, decided by the publisher when the transition commits. */
export type Audience = (viewer: { org: string; account: string; role: string }) => boolean;

export interface StreamRecord {
  readonly id: string;
  readonly event: AgreementStreamEvent;
  readonly audience: Audience;
}

export interface Subscriber {
  /** Called with each new event (already filtered by the subscriber's filter). */
  readonly send: (record: StreamRecord) => void;
  /** Called once when the stream closes (shutdown). */
  readonly end: () => void;
}

export interface Subscription {
  /** Held events the subscriber missed, oldest first. */
  readonly replay: readonly StreamRecord[];
  /** True when `Last-Event-ID` named an event no longer (or never) held: some may be missing. */
  readonly gap: boolean;
  unsubscribe(): void;
}

export interface AgreementEvents {
  /** Number of open subscriptions. */
  readonly subscribers: number;
  publish(event: AgreementStreamEvent, audience: Audience): StreamRecord;
  /**
   * Subscribes to events `filter` admits. With `lastEventId`, the held events after it are
   * returned for replay.
   */
  subscribe(
    filter: (record: StreamRecord) => boolean,
    subscriber: Subscriber,
    lastEventId?: string,
  ): Subscription;
  /** Ends every subscription; later subscriptions end at once. */
  close(): void;
}

export const DEFAULT_EVENT_CAPACITY = 1000;

class AgreementEventsImpl implements AgreementEvents {
  readonly #stream = randomBytes(4).toString('hex');
  readonly #capacity: number;
  readonly #held: StreamRecord[] = [];
  readonly #subscribers = new Set<{
    filter: (record: StreamRecord) => boolean;
    subscriber: Subscriber;
  }>();
  #seq = 0;
  #closed = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  publish(event: AgreementStreamEvent, audience: Audience): StreamRecord {
    this.#seq += 1;
    const record: StreamRecord = { id: `${this.#stream}-${this.#seq}`, event, audience };
    this.#held.push(record);
    if (this.#held.length > this.#capacity)
      this.#held.splice(0, this.#held.length - this.#capacity);
    for (const { filter, subscriber } of [...this.#subscribers]) {
      if (!filter(record)) continue;
      try {
        subscriber.send(record);
      } catch {
        // A subscriber whose socket failed is removed by its own close handler.
      }
    }
    return record;
  }

  subscribe(
    filter: (record: StreamRecord) => boolean,
    subscriber: Subscriber,
    lastEventId?: string,
  ): Subscription {
    const entry = { filter, subscriber };
    let replay: StreamRecord[] = [];
    let gap = false;
    if (lastEventId !== undefined) {
      const seq = this.#seqOf(lastEventId);
      const oldest = this.#held[0] ? (this.#seqOf(this.#held[0].id) as number) : this.#seq + 1;
      if (seq === undefined || seq > this.#seq) {
        gap = true;
        replay = [...this.#held];
      } else {
        gap = seq < oldest - 1;
        replay = this.#held.filter((record) => (this.#seqOf(record.id) as number) > seq);
      }
      replay = replay.filter(filter);
    }
    if (this.#closed) {
      queueMicrotask(() => subscriber.end());
    } else {
      this.#subscribers.add(entry);
    }
    return {
      replay,
      gap,
      unsubscribe: () => {
        this.#subscribers.delete(entry);
      },
    };
  }

  close(): void {
    this.#closed = true;
    const ending = [...this.#subscribers];
    this.#subscribers.clear();
    for (const { subscriber } of ending) {
      try {
        subscriber.end();
      } catch {
        // already gone
      }
    }
  }

  /** The sequence number of an id of this stream, `undefined` for anything else. */
  #seqOf(id: string): number | undefined {
    const match = /^([0-9a-f]{8})-([1-9][0-9]{0,15})$/.exec(id);
    if (!match || match[1] !== this.#stream) return undefined;
    return Number(match[2]);
  }
}

/** An event hub holding the last `capacity` events. */
export function createAgreementEvents(capacity = DEFAULT_EVENT_CAPACITY): AgreementEvents {
  return new AgreementEventsImpl(capacity);
}
