import { describe, expect, it } from 'vitest';
import { EXPIRY_SWEEP_SLACK, ExpiryBuckets } from '../server/realtime/credential-expiry.js';

// Each socket's id waits for the second its token expires. Sockets that come and go, with tokens
// that last a week, must not leave an id each behind until then (the soak review: 30,000 sockets
// connected and closed, 30,000 ids kept).
describe('the ids waiting for their credential to expire', () => {
  it('are kept to about twice the live sockets when sockets come and go, and the live ones still expire on time', () => {
    const live = new Set<string>();
    const buckets = new ExpiryBuckets(
      (id) => live.has(id),
      () => live.size,
    );
    const week = 7 * 86_400;
    for (let i = 0; i < 10; i++) {
      live.add(`stays-${i}`);
      buckets.add(`stays-${i}`, week + i);
    }
    for (let i = 0; i < 20_000; i++) {
      live.add(`visit-${i}`);
      buckets.add(`visit-${i}`, week + (i % 50));
      live.delete(`visit-${i}`);
    }
    expect(buckets.size).toBeLessThanOrEqual(2 * live.size + EXPIRY_SWEEP_SLACK + 1);
    const due = Array.from({ length: 50 }, (_, i) => buckets.take(week + i)).flat();
    expect(due.filter((id) => id.startsWith('stays-')).sort()).toEqual([...live].sort());
    expect(buckets.size).toBe(0);
  });
});
