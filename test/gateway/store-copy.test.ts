/**
 * Copies of live LevelDB stores (gateway/storage/store-copy.ts), on real LevelDB: every entry of
 * every sublevel, a snapshot that never holds half of an atomic batch written during the copy, the
 * digest that later checks the copy, and refusals.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyStore, digestStore } from '../../gateway/storage/store-copy';
import { openTextStore, UTF8, type TextStore } from '../../gateway/storage/text-store';
import { tempDir } from './helpers';

describe('copyStore', () => {
  let dir: string;
  let source: TextStore;

  beforeEach(async () => {
    dir = await tempDir('store-copy-');
    source = await openTextStore(path.join(dir, 'source'), 'test store');
  });

  afterEach(async () => {
    await source.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function entriesOf(location: string): Promise<Array<[string, string]>> {
    const db = await openTextStore(location, 'copy');
    try {
      return await db.iterator().all();
    } finally {
      await db.close();
    }
  }

  it('copies every entry of every sublevel, and its digest checks the copy', async () => {
    const blocks = source.sublevel<string, string>('blocks', UTF8);
    await source.put('root-key', 'root value');
    await blocks.batch(
      Array.from({ length: 2_500 }, (_, i) => ({
        type: 'put' as const,
        key: String(i).padStart(6, '0'),
        value: `block ${i} 区块`,
      })),
    );
    const copy = await copyStore(source, path.join(dir, 'copy'));
    expect(copy.entries).toBe(2_501);
    expect(copy.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await entriesOf(path.join(dir, 'copy'))).toEqual(await source.iterator().all());
    expect(await digestStore(path.join(dir, 'copy'))).toEqual(copy);

    // One changed value changes the digest.
    const changed = await openTextStore(path.join(dir, 'copy'), 'copy');
    await changed.sublevel<string, string>('blocks', UTF8).put('000007', 'block 7 区块!');
    await changed.close();
    expect((await digestStore(path.join(dir, 'copy'))).digest).not.toBe(copy.digest);
  });

  it('is one snapshot: batches written during the copy are in it whole or not at all', async () => {
    await source.batch(
      Array.from({ length: 3_000 }, (_, i) => ({
        type: 'put' as const,
        key: `a${String(i).padStart(5, '0')}`,
        value: 'x'.repeat(200),
      })),
    );
    // Each write puts one key at the start and one at the end of the key range, atomically.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        const n = String(written).padStart(5, '0');
        await source.batch([
          { type: 'put', key: `0-${n}`, value: 'first' },
          { type: 'put', key: `z-${n}`, value: 'last' },
        ]);
        written += 1;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const copy = await copyStore(source, path.join(dir, 'copy'));
    stop = true;
    await writer;

    const copied = await entriesOf(path.join(dir, 'copy'));
    const firsts = copied.filter(([key]) => key.startsWith('0-')).map(([key]) => key.slice(2));
    const lasts = copied.filter(([key]) => key.startsWith('z-')).map(([key]) => key.slice(2));
    expect(lasts).toEqual(firsts);
    expect(firsts.length).toBeGreaterThan(0);
    // Writes went on after the snapshot, and are not in it.
    expect(written).toBeGreaterThan(firsts.length);
    expect(copy.entries).toBe(3_000 + 2 * firsts.length);
  });

  it('is abandoned between chunks once its signal is aborted: LEDGER_CLOSED', async () => {
    await source.batch(
      Array.from({ length: 3000 }, (_, i) => ({
        type: 'put' as const,
        key: `k${String(i).padStart(5, '0')}`,
        value: 'v',
      })),
    );
    const stopping = new AbortController();
    let chunks = 0;
    const iterator = source.iterator.bind(source);
    // Abort after the first chunk is read: the copy stops before the second.
    source.iterator = ((options?: object) => {
      const it = iterator(options as never);
      const nextv = it.nextv.bind(it);
      it.nextv = (async (size: number) => {
        const chunk = await nextv(size);
        chunks += 1;
        stopping.abort();
        return chunk;
      }) as never;
      return it;
    }) as never;
    await expect(
      copyStore(source, path.join(dir, 'copy'), { signal: stopping.signal }),
    ).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    expect(chunks).toBe(1);
  });

  it('copies an empty store', async () => {
    const copy = await copyStore(source, path.join(dir, 'copy'));
    expect(copy).toEqual(await digestStore(path.join(dir, 'copy')));
    expect(copy.entries).toBe(0);
    expect(copy.bytes).toBe(0);
  });

  it('refuses a location that holds a store, and leaves that store as it was', async () => {
    await source.put('k', 'v');
    const first = await copyStore(source, path.join(dir, 'copy'));
    await source.put('k2', 'v2');
    await expect(copyStore(source, path.join(dir, 'copy'))).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      message: expect.stringContaining(path.join(dir, 'copy')),
    });
    expect(await digestStore(path.join(dir, 'copy'))).toEqual(first);
  });

  it('digestStore refuses a location without a store', async () => {
    await expect(digestStore(path.join(dir, 'none'))).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
    });
  });
});
