/** The agreement settings of the one configuration loader. */

import { describe, expect, it } from 'vitest';
import { isEvidenceError } from '../../core/errors';
import { DEFAULT_CONFIG, loadConfig } from '../../gateway/config';

describe('loadConfig: agreement settings', () => {
  it('defaults: the scheduler sleeps at most a minute, heartbeats every 15 s, 1000 events held', () => {
    expect(loadConfig({})).toMatchObject({
      agreementCheckIntervalMs: 60_000,
      agreementEventsHeartbeatMs: 15_000,
      agreementEventsBuffer: 1000,
    });
    // Heartbeats keep an idle stream inside the connection timeout.
    expect(DEFAULT_CONFIG.agreementEventsHeartbeatMs).toBeLessThan(
      loadConfig({}).connectionTimeoutMs,
    );
  });

  it('reads EVIDENCE_AGREEMENT_* variables', () => {
    expect(
      loadConfig({
        EVIDENCE_AGREEMENT_CHECK_INTERVAL_MS: '250',
        EVIDENCE_AGREEMENT_EVENTS_HEARTBEAT_MS: '5000',
        EVIDENCE_AGREEMENT_EVENTS_BUFFER: '10',
      }),
    ).toMatchObject({
      agreementCheckIntervalMs: 250,
      agreementEventsHeartbeatMs: 5000,
      agreementEventsBuffer: 10,
    });
  });

  it('reports every bad agreement setting at once with CONFIG_INVALID', () => {
    let caught: unknown;
    try {
      loadConfig({
        EVIDENCE_AGREEMENT_CHECK_INTERVAL_MS: '0',
        EVIDENCE_AGREEMENT_EVENTS_HEARTBEAT_MS: 'often',
        EVIDENCE_AGREEMENT_EVENTS_BUFFER: '100001',
      });
    } catch (error) {
      caught = error;
    }
    expect(isEvidenceError(caught) && caught.code).toBe('CONFIG_INVALID');
    expect(
      isEvidenceError(caught) && caught.fields?.map((field) => [field.path, field.rule]),
    ).toEqual([
      ['/agreementCheckIntervalMs', 'integer'],
      ['/agreementEventsHeartbeatMs', 'integer'],
      ['/agreementEventsBuffer', 'integer'],
    ]);
  });
});
