/** The rule that a store is reopened after a failed write, before it is used again. */

import { describe, expect, it } from 'vitest';
import { Reopener } from '../../gateway/storage/reopener';

/** A database whose opens are counted and can be made to fail. */
function fakeDb() {
  const db = {
    opens: 0,
    closes: 0,
    sublevelOpens: 0,
    failOpen: false,
    async open() {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (db.failOpen) throw new Error('IO error: No space left on device');
      db.opens += 1;
    },
    async close() {
      db.closes += 1;
    },
  };
  const sublevel = {
    async open() {
      db.sublevelOpens += 1;
    },
  };
  return { db, sublevels: [sublevel, sublevel] };
}

describe('Reopener', () => {
  it('does nothing until a write failed', async () => {
    const { db, sublevels } = fakeDb();
    const reopener = new Reopener(db, sublevels);
    await reopener.ready();
    expect([db.closes, db.opens, reopener.needed]).toEqual([0, 0, false]);
  });

  it('reopens the database and its sublevels once, for every caller waiting', async () => {
    const { db, sublevels } = fakeDb();
    const reopener = new Reopener(db, sublevels);
    reopener.markFailed();
    expect(reopener.needed).toBe(true);
    await Promise.all([reopener.ready(), reopener.ready(), reopener.ready()]);
    expect([db.closes, db.opens, db.sublevelOpens, reopener.needed]).toEqual([1, 1, 2, false]);
    await reopener.ready();
    expect(db.opens).toBe(1);
  });

  it('keeps the need after a failed reopen, and the next use tries again', async () => {
    const { db, sublevels } = fakeDb();
    const reopener = new Reopener(db, sublevels);
    reopener.markFailed();
    db.failOpen = true;
    await expect(reopener.ready()).rejects.toThrow(/No space left/);
    expect(reopener.needed).toBe(true);
    db.failOpen = false;
    await reopener.ready();
    expect([db.opens, reopener.needed]).toEqual([1, false]);
  });

  it('lets a caller wait for a reopen another started', async () => {
    const { db, sublevels } = fakeDb();
    const reopener = new Reopener(db, sublevels);
    const running = reopener.reopen();
    let waited = false;
    const waiting = reopener.ready().then(() => (waited = true));
    expect(waited).toBe(false);
    await Promise.all([running, waiting]);
    expect([db.opens, waited]).toEqual([1, true]);
  });
});
