/**
 * Infrastructure plugin: the anchoring job and its store (gateway/anchoring/), as the typed
 * decorator `app.anchoring`. It starts when the app is ready (so a node that fails to start
 * anchors nothing) and stops when the app closes, before the owner closes the ledger; no timer
 * outlives the app. Without configured targets nothing is opened.
 *
 * Each target's last anchor feeds `evidence_last_anchor_age_seconds{target}` through the metrics
 * plugin's `app.metrics.anchors` (when that plugin is registered), timed by this node's clock like
 * `ageSeconds` in the status route.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { createAnchoring, type Anchoring, type AnchoringConfig } from '../anchoring/anchoring';
import type { AnchorTarget } from '../anchoring/target';
import type { Ledger } from '../ledger/ledger';

declare module 'fastify' {
  interface FastifyInstance {
    /** Anchoring of this chain on other chains: status, receipt upgrades. */
    readonly anchoring: Anchoring;
  }
}

export interface AnchoringPluginOptions {
  readonly config: AnchoringConfig;
  readonly ledger: Ledger;
  /** Targets to use instead of the configuration's, and no timer when `manual` (tests). */
  readonly overrides?: AnchoringOverrides;
}

export interface AnchoringOverrides {
  readonly targets?: readonly AnchorTarget[];
  readonly manual?: boolean;
}

const anchoringPlugin: FastifyPluginAsync<AnchoringPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const anchoring = createAnchoring({
    config: options.config,
    ledger: options.ledger,
    logger: app.log.child({ component: 'anchoring' }),
    onAnchored: (target, stored) => {
      if (app.hasDecorator('metrics'))
        app.metrics.anchors.anchored(target, Date.parse(stored.storedAt));
    },
    ...(options.overrides?.targets ? { targets: options.overrides.targets } : {}),
    ...(options.overrides?.manual ? { manual: true } : {}),
  });
  app.decorate('anchoring', anchoring);
  app.addHook('onReady', async () => anchoring.start());
  app.addHook('onClose', async () => anchoring.close());
};

export default fp(anchoringPlugin, { name: 'evidence-anchoring', fastify: '5.x' });
