import { describe, expect, it } from 'vitest';
import { accessMessageReader, signedAccessMessage } from '../server/realtime/access-messages.js';
import { admitIfMember } from '../server/realtime/access-relay.js';
import type { AdmitOrder } from '../server/realtime/types.js';

// An admission that came through the database is applied only while the membership stands, read
// with no revocation reaching the node meanwhile (end to end, with two nodes: revocation.test.ts).
const ORDER = { room: 'user:u1', admitTo: 'o1' };
const quiet = { debug: () => {} };

function node() {
  const admitted: AdmitOrder[] = [];
  return { revocations: 0, admit: (order: AdmitOrder) => void admitted.push(order), admitted };
}

describe('an admission that came through the database', () => {
  it('is applied while the membership stands', async () => {
    const orders = node();
    const asked: string[] = [];
    const isMember = async (userId: string, orgId: string) => (asked.push(`${userId} ${orgId}`), true);
    expect(await admitIfMember(orders, isMember, ORDER, quiet)).toBe(true);
    expect(asked).toEqual(['u1 o1']);
    expect(orders.admitted).toEqual([ORDER]);
  });

  it('is not applied for one who is no member, nor when the membership cannot be read, nor for what names no user', async () => {
    const orders = node();
    expect(await admitIfMember(orders, async () => false, ORDER, quiet)).toBe(false);
    const gone = async (): Promise<boolean> => {
      throw new Error('the database is away');
    };
    expect(await admitIfMember(orders, gone, ORDER, quiet)).toBe(false);
    expect(await admitIfMember(orders, async () => true, { room: 'key:k1', admitTo: 'o1' }, quiet)).toBe(false);
    expect(await admitIfMember(orders, async () => true, { room: 'user:u1' }, quiet)).toBe(false);
    expect(orders.admitted).toEqual([]);
  });

  it('reads the membership again when a revocation reached the node while it was read', async () => {
    const orders = node();
    let reads = 0;
    // The first read began before a removal that committed meanwhile and whose kick came during it.
    const isMember = async () => {
      reads += 1;
      if (reads === 1) orders.revocations += 1;
      return true;
    };
    expect(await admitIfMember(orders, isMember, ORDER, quiet)).toBe(true);
    expect(reads).toBe(2);

    const removed = node();
    let removedReads = 0;
    const readsRemoval = async () => {
      removedReads += 1;
      if (removedReads === 1) removed.revocations += 1;
      return removedReads === 1; // the read after the kick sees the removal
    };
    expect(await admitIfMember(removed, readsRemoval, ORDER, quiet)).toBe(false);
    expect(removed.admitted).toEqual([]);
  });

  it('gives up while revocations keep coming during every read', async () => {
    const orders = node();
    let reads = 0;
    const isMember = async () => {
      reads += 1;
      orders.revocations += 1;
      return true;
    };
    expect(await admitIfMember(orders, isMember, ORDER, quiet)).toBe(false);
    expect(reads).toBe(3);
    expect(orders.admitted).toEqual([]);
  });
});

describe('a message on the database channel', () => {
  const KICK = { kind: 'revoke', order: { room: 'user:u1', orgId: 'o1', reason: 'removed' } } as const;
  const T = Date.UTC(2026, 11, 7, 12);
  /** A reader made at `T`, on a clock `later` ms past it. */
  function readerAt(options: { seen?: Map<string, number>; outOfTime?: (aheadMs: number) => void } = {}) {
    const clock = { later: 0 };
    const read = accessMessageReader('secret', { now: () => T + clock.later, ...options });
    return { read, clock };
  }

  it('is taken once, when signed with the secret: sent again (a recording), it is refused', () => {
    const { read, clock } = readerAt();
    clock.later = 2000;
    const payload = signedAccessMessage('secret', KICK, { sentAt: T + 1000, id: 'a' });
    expect(read(payload)).toMatchObject(KICK);
    expect(read(payload)).toBeNull();
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T + 1500, id: 'b' }))).toMatchObject(KICK);
    expect(read(signedAccessMessage('another secret', KICK, { sentAt: T + 1500, id: 'c' }))).toBeNull();
    expect(read(JSON.stringify({ ...KICK, sentAt: T + 1500, id: 'd' }))).toBeNull();
  });

  it('is refused when sent before the reader was made: a node that starts has seen none of them', () => {
    const { read } = readerAt();
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T - 1, id: 'before' }))).toBeNull();
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T, id: 'since' }))).toMatchObject(KICK);
  });

  it('is refused, and told of, when sent more than a minute before it is read, or after', () => {
    const told: number[] = [];
    const { read, clock } = readerAt({ outOfTime: (aheadMs) => void told.push(aheadMs) });
    clock.later = 120_000;
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T + 59_999, id: 'old' }))).toBeNull();
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T + 180_001, id: 'ahead' }))).toBeNull();
    expect(read(signedAccessMessage('secret', KICK, { sentAt: T + 60_000, id: 'just in time' }))).toMatchObject(KICK);
    expect(told).toEqual([-60_001, 60_001]);
  });

  it('is forgotten once too old to be taken anyway, and still refused then', () => {
    const seen = new Map<string, number>();
    const { read, clock } = readerAt({ seen });
    const payload = signedAccessMessage('secret', KICK, { sentAt: T, id: 'a' });
    expect(read(payload)).not.toBeNull();
    clock.later = 60_000;
    expect(read(payload)).toBeNull(); // seen
    expect(seen.size).toBe(1);
    clock.later = 60_001;
    expect(read(payload)).toBeNull(); // old
    expect(seen.size).toBe(0);
  });
});
