import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { hashFile } from '../../verifier-cli/hash-file';
import { RING_SLOT_BYTES, RING_SLOTS } from '../../verifier-cli/parallel-hash';
import { tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

describe('hashFile on several cores', () => {
  // More chunks than the ring has slots, and a partial last chunk: every slot is reused.
  const content = randomBytes(RING_SLOT_BYTES * (RING_SLOTS + 3) + 17);
  const file = temp.write('large.bin', content);

  it('gives the same digests as hashing on one thread, from one read pass', async () => {
    const parallel = await hashFile(file, { parallelMinBytes: 0 });
    const serial = await hashFile(file, { parallelMinBytes: Number.MAX_SAFE_INTEGER });
    expect(parallel).toEqual({ size: content.length, digests: digestBytes(content) });
    expect(serial).toEqual(parallel);
  });

  it('reports progress that only grows and ends at the size', async () => {
    const seen: number[] = [];
    await hashFile(file, {
      parallelMinBytes: 0,
      onProgress: (done, total) => {
        expect(total).toBe(content.length);
        seen.push(done);
      },
    });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(content.length);
  });

  it('hashes an empty file and a single algorithm the same way on both paths', async () => {
    const empty = temp.write('empty.bin', Buffer.alloc(0));
    expect(await hashFile(empty, { parallelMinBytes: 0 })).toEqual({
      size: 0,
      digests: digestBytes(Buffer.alloc(0)),
    });
    expect(await hashFile(file, { parallelMinBytes: 0, algorithms: ['sha256'] })).toEqual({
      size: content.length,
      digests: { sha256: digestBytes(content).sha256 },
    });
  });

  it('hashes files one after another without leaving threads behind', async () => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await hashFile(file, { parallelMinBytes: 0 }));
    expect(new Set(results.map((result) => result.digests.sm3)).size).toBe(1);
  });
});
