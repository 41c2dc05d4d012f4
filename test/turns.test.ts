import { describe, expect, it } from 'vitest';
import { Turns } from '../server/lanes.js';

// Board reads share a snapshot when they wait for their turn together (`readBoard`); these pin
// down who shares, and who must not.
describe('a board read shared while it waits its turn (Turns.shared)', () => {
  it('answers everyone who asks while it waits with one read, and another key with its own', async () => {
    const turns = new Turns(1);
    let release!: () => void;
    const busy = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    let reads = 0;
    const read = async () => ++reads;
    const crowd = [turns.shared('board', read), turns.shared('board', read), turns.shared('board', read)];
    const other = turns.shared('other board', read);
    release();
    await busy;
    expect(await Promise.all(crowd)).toEqual([1, 1, 1]);
    expect(await other).toBe(2);
    expect(reads).toBe(2);
  });

  it('gives whoever asks after a read has begun a read of their own, begun after they asked', async () => {
    const turns = new Turns(2);
    const began: string[] = [];
    let finish!: (board: string) => void;
    const first = turns.shared('board', () => {
      began.push('first');
      return new Promise<string>((resolve) => (finish = resolve));
    });
    const second = turns.shared('board', async () => {
      began.push('second');
      return 'second';
    });
    expect(await second).toBe('second');
    finish('first');
    expect(await first).toBe('first');
    expect(began).toEqual(['first', 'second']);
  });

  it('gives its error to everyone who shared it, and the next who asks a new read', async () => {
    const turns = new Turns(1);
    let release!: () => void;
    const busy = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    const failing = async (): Promise<string> => {
      throw new Error('the database went away');
    };
    const crowd = [turns.shared('board', failing), turns.shared('board', failing)];
    release();
    await busy;
    for (const answer of crowd) await expect(answer).rejects.toThrow('the database went away');
    expect(await turns.shared('board', async () => 'read again')).toBe('read again');
  });

  it('skips work no one wants any more when its turn comes (UNAVAILABLE), and runs the next', async () => {
    const turns = new Turns(1);
    let release!: () => void;
    const busy = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    let wanted = true;
    const ran: string[] = [];
    const abandoned = turns.run(
      async () => ran.push('abandoned'),
      () => wanted,
    );
    const next = turns.run(async () => ran.push('next'));
    wanted = false; // answered at its deadline, or its socket gone, while it waited
    release();
    await busy;
    expect(await Promise.allSettled([abandoned, next])).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ code: 'UNAVAILABLE' }) },
      { status: 'fulfilled', value: 1 },
    ]);
    expect(ran).toEqual(['next']);
  });

  it('runs a shared read while anyone who shares it still wants it, and skips it when no one does', async () => {
    const turns = new Turns(1);
    let release!: () => void;
    let busy = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    let reads = 0;
    const read = async () => ++reads;
    const crowd = [turns.shared('board', read, () => false), turns.shared('board', read, () => true)];
    release();
    await busy;
    expect(await Promise.all(crowd)).toEqual([1, 1]);

    busy = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    const nobody = [turns.shared('board', read, () => false), turns.shared('board', read, () => false)];
    release();
    await busy;
    const given = await Promise.allSettled(nobody);
    expect(given).toEqual(nobody.map(() => ({ status: 'rejected', reason: expect.objectContaining({ code: 'UNAVAILABLE' }) })));
    expect(reads).toBe(1);
  });
});
