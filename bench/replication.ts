/**
 * Replication figures, in process: how fast a replica copies a chain, against how fast its source
 * made it, in the same run. The source is a store as the node opens it (the ledger on its own
 * thread, the evidence service over it) taking 1000-item batches, 4 at a time: that rate is the
 * reference. Its app serves it over real HTTP (`GET /v1/blocks`, on 127.0.0.1) to a fresh replica,
 * also on its own thread, whose job (gateway/replica/follower.ts) asks for blocks until it holds
 * the source's height; every block is checked against the source's trust entry, every transaction
 * run again through the contracts, and each block committed in a synced batch. Deposits and copies
 * alternate in rounds, and the replica must end with the source's height and tip. Both run in
 * this process, so the replica's CPU figure includes the source's serving.
 */

import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../gateway/app';
import { openKeyStore } from '../gateway/auth/api-keys';
import { loadConfig } from '../gateway/config';
import type { BlockForm, ChainInfo } from '../gateway/ledger/ledger';
import { openThreadedLedger, type ThreadedLedger } from '../gateway/ledger/threaded-ledger';
import { createReplicaFollower, type ReplicaFollower } from '../gateway/replica/follower';
import { replicaSource } from '../gateway/replica/source';
import type { BenchConfig } from './config';
import { BATCH, deposit, depositFigure, openStore, spent, type DepositFigure } from './scale';
import { createItemSource, type Store } from './workload';

/** Batches deposited and copied once, unmeasured, before the figures (JIT, compiled schemas). */
const WARM_UP_BATCHES = 3;
/** Rounds of depositing then copying in a full run; the figures sum them. */
const ROUNDS = 3;
/** The replica's deadline per call to its source. */
const CALL_TIMEOUT_MS = 120_000;

export interface CopyFigure {
  readonly recordsPerSecond: number;
  readonly blocksPerSecond: number;
  /** Process CPU time (all threads, the source's serving included) per record copied, µs. */
  readonly cpuMicrosPerRecord: number;
  readonly seconds: number;
  /** Calls to `GET /v1/blocks` (rounds of the replica's job). */
  readonly calls: number;
}

export interface ReplicationFigures {
  /** Records deposited on the source and copied by the replica. */
  readonly records: number;
  /** Blocks copied (of about 1,000 records each). */
  readonly blocks: number;
  /** The source making the chain: 1000-item batches, 4 at a time, summed over the rounds. */
  readonly source: DepositFigure & { readonly seconds: number };
  /** The replica copying it over HTTP, summed over the rounds. */
  readonly replica: CopyFigure;
  /**
   * Bytes of an up-to-date replica's poll (`GET /v1/blocks` from the block it holds, a
   * 1,000-record block): as the job asks (`first=header`), and with that block sent whole.
   */
  readonly poll: { readonly headerBytes: number; readonly wholeBytes: number };
}

/** The bytes of `GET /v1/blocks?from=` the tip, with the tip block in form `first`. */
async function pollBytes(url: string, apiKey: string, tip: number, first: BlockForm) {
  const response = await fetch(`${url}/v1/blocks?from=${tip}&first=${first}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`polling the source: ${response.status} ${body}`);
  return body.length;
}

/** The source's app on 127.0.0.1, with a court's API key for the replica. */
async function serve(
  store: Store,
  dataDir: string,
): Promise<{ app: FastifyInstance; url: string; apiKey: string }> {
  // Load shedding and the per-principal rate limit are off: the replica's job shares this
  // process's event loop, and a limit is a policy, not the node's speed (as for the HTTP rows).
  const config = loadConfig(
    {},
    { dataDir, org: 'BenchNode', maxEventLoopDelayMs: 0, rateLimitMax: 1_000_000 },
  );
  const { keys } = await openKeyStore({
    file: config.keysFile,
    org: config.org,
    adminKeyFile: path.join(dataDir, 'admin.key'),
  });
  const { key } = await keys.create({ org: 'BenchCourt', account: 'replica', role: 'court' });
  const app = buildApp(config, { ledger: store.ledger, keys });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    app,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    apiKey: key,
  };
}

/** Time and CPU spent copying, summed over rounds. */
interface Copied {
  blocks: number;
  seconds: number;
  cpuMicros: number;
  calls: number;
}

/** Calls the replica's job made to its source (each answer of `GET /v1/blocks`). */
const asked = { calls: 0 };

/** Runs the replica's job until it holds the source's height; adds what it took to `into`. */
async function catchUp(follower: ReplicaFollower, replica: ThreadedLedger, into: Copied) {
  const before = (await replica.info()).height;
  const callsBefore = asked.calls;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  while (await follower.syncOnce());
  into.calls += asked.calls - callsBefore;
  const used = process.cpuUsage(cpu);
  into.seconds += Number(process.hrtime.bigint() - started) / 1e9;
  into.cpuMicros += used.user + used.system;
  into.blocks += (await replica.info()).height - before;
}

/**
 * Measures the replication figures under `config.workDir`: after a warm-up round (a few batches
 * deposited and copied, unmeasured), `config.replicationBatches` batches deposited on the source
 * and copied by the replica in alternating rounds, so that both see the same machine even when
 * its load drifts. Closes everything it opened, also on failure.
 */
export async function measureReplication(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ReplicationFigures> {
  const dir = await fs.mkdtemp(path.join(config.workDir, 'bench-replication-'));
  const sourceDir = path.join(dir, 'source');
  const replicaDir = path.join(dir, 'replica');
  let store: Store | undefined;
  let app: FastifyInstance | undefined;
  let replica: ThreadedLedger | undefined;
  let follower: ReplicaFollower | undefined;
  try {
    store = await openStore(sourceDir);
    const served = await serve(store, sourceDir);
    app = served.app;
    if (!store.ledger.rawBlocks) throw new Error('the source ledger serves no blocks');
    const genesis = (await store.ledger.rawBlocks(0, 1, 1 << 20)).blocks[0];
    if (genesis === undefined) throw new Error('the source has no block 0');
    replica = await openThreadedLedger({
      dataDir: replicaDir,
      org: 'BenchCourt',
      replica: { trust: store.ledger.trust(), genesis },
    });
    const http = replicaSource({
      url: served.url,
      apiKey: served.apiKey,
      timeoutMs: CALL_TIMEOUT_MS,
    });
    follower = createReplicaFollower({
      ledger: replica,
      source: {
        url: http.url,
        blocks: (from, limit, signal, first) => {
          asked.calls += 1;
          return http.blocks(from, limit, signal, first);
        },
      },
      dataDir: replicaDir,
      intervalMs: 1000,
      manual: true,
    });
    await follower.start();

    const items = createItemSource();
    await deposit(store.service, items, Math.min(WARM_UP_BATCHES, config.replicationBatches));
    await catchUp(follower, replica, { blocks: 0, seconds: 0, cpuMicros: 0, calls: 0 });

    const rounds = config.smoke ? 1 : ROUNDS;
    const records = config.replicationBatches * BATCH;
    log(
      `replication: depositing ${records} records and copying them to a replica over HTTP ` +
        (rounds === 1 ? 'at once' : `in ${rounds} alternating rounds`),
    );
    const made = spent();
    const copied: Copied = { blocks: 0, seconds: 0, cpuMicros: 0, calls: 0 };
    for (let round = 0; round < rounds; round++) {
      const batches =
        Math.floor((config.replicationBatches * (round + 1)) / rounds) -
        Math.floor((config.replicationBatches * round) / rounds);
      await deposit(store.service, items, batches, made);
      await catchUp(follower, replica, copied);
    }

    const sourceInfo: ChainInfo = await store.ledger.info();
    const replicaInfo: ChainInfo = await replica.info();
    if (!isDeepStrictEqual(replicaInfo, sourceInfo)) {
      throw new Error(
        `the replica does not hold the source's chain: ${JSON.stringify(replicaInfo)} vs ` +
          JSON.stringify(sourceInfo),
      );
    }
    const tip = sourceInfo.height - 1;
    const poll = {
      headerBytes: await pollBytes(served.url, served.apiKey, tip, 'header'),
      wholeBytes: await pollBytes(served.url, served.apiKey, tip, 'whole'),
    };
    const figures: ReplicationFigures = {
      poll,
      records: made.digests,
      blocks: copied.blocks,
      source: { ...depositFigure(made), seconds: made.seconds },
      replica: {
        recordsPerSecond: made.digests / copied.seconds,
        blocksPerSecond: copied.blocks / copied.seconds,
        cpuMicrosPerRecord: copied.cpuMicros / made.digests,
        seconds: copied.seconds,
        calls: copied.calls,
      },
    };
    const { source, replica: copy } = figures;
    log(
      `replication: source ${source.digestsPerSecond.toFixed(0)} digests/s ` +
        `(${source.cpuMicrosPerDigest.toFixed(0)} µs CPU each); replica ` +
        `${copy.recordsPerSecond.toFixed(0)} records/s, ${copy.blocksPerSecond.toFixed(1)} ` +
        `blocks/s (${figures.blocks} blocks in ${copy.calls} calls, ` +
        `${copy.cpuMicrosPerRecord.toFixed(0)} µs CPU each)`,
    );
    return figures;
  } finally {
    await follower?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await replica?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
}
