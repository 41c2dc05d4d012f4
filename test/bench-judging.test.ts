import { describe, expect, it } from 'vitest';
import { type RateVerdict, searchMaxRate } from '../bench/lib/rate-search.js';
import { judgeBudgetLoad, type LatencyPair } from '../bench/scenarios/throughput.js';

// How the throughput scenario judges what it measured, against a machine whose answers are known:
// a capacity, and spells in which it stalls. (The scenario itself runs in bench-smoke.test.ts.)
const OPTIONS = { startRate: 20, growth: 1.5, maxSteps: 14, refinements: 2, minRate: 2 };
const CAPACITY = 1000;

interface Tried {
  rate: number;
  passed: boolean;
}

/** A machine that takes up to CAPACITY/s, and sets aside the tries `stalled` picks. */
function machine(stalled: (rate: number, attempt: number) => boolean) {
  const tried: number[] = [];
  const tryRate = async (rate: number): Promise<RateVerdict<Tried>> => {
    tried.push(rate);
    return stalled(rate, tried.length) ? 'stalled' : { rate, passed: rate <= CAPACITY };
  };
  return { tryRate, tried };
}

describe('the max-rate search', () => {
  it('brackets the capacity to within a tenth', async () => {
    const { best, limit } = await searchMaxRate(machine(() => false).tryRate, OPTIONS);
    expect(best!.rate).toBeLessThanOrEqual(CAPACITY);
    expect(limit!.rate).toBeGreaterThan(CAPACITY);
    expect(limit!.rate / best!.rate).toBeLessThan(1.11);
  });

  it('goes on past a spell of stalls at the low rates it starts from', async () => {
    // The machine stalls for its first three tries (20, 30 and 45/s): a round that took them for
    // failures ended near 10/s although the rates above passed.
    const { best, limit } = await searchMaxRate(machine((_, attempt) => attempt <= 3).tryRate, OPTIONS);
    expect(best!.rate).toBeGreaterThan(CAPACITY / 1.11);
    expect(limit!.rate).toBeGreaterThan(CAPACITY);
  });

  it('never counts a rate set aside as passed', async () => {
    // Everything over 300/s stalls: the max rate stays what passed, with no failure found.
    const { tryRate, tried } = machine((rate) => rate > 300);
    const { best, limit } = await searchMaxRate(tryRate, OPTIONS);
    expect(best!.rate).toBeLessThanOrEqual(300);
    expect(limit).toBeNull();
    expect(tried.length).toBe(OPTIONS.maxSteps);
  });

  it('halves from a start rate that fails until one passes', async () => {
    const { best, limit } = await searchMaxRate(machine(() => false).tryRate, { ...OPTIONS, startRate: 3000 });
    // 3000 and 1500 fail, 750 passes, and two bisections close in from there.
    expect(best!.rate).toBeLessThanOrEqual(CAPACITY);
    expect(best!.rate).toBeGreaterThan(750);
    expect(limit!.rate).toBeGreaterThan(CAPACITY);
  });
});

describe('the sender-ack verdict', () => {
  const pair = (ackP99: number, pgbenchP99: number): LatencyPair => ({
    ackP99,
    pgbenchP99,
    clean: true,
    generatorBound: false,
    baselineStalled: !(pgbenchP99 < 50),
  });

  it('leaves out the pairs where pgbench stalled, which would flatter TaskFlow', () => {
    // Three calm pairs 20, 24 and 30 ms over; two where pgbench stalled and TaskFlow "won" by far.
    const verdict = judgeBudgetLoad(1800, [pair(26, 6), pair(30, 6), pair(35, 5), pair(40, 180), pair(38, 260)]);
    expect(verdict).toMatchObject({ judged: 3, p99OverPgbenchMs: 24, ackP99Ms: 30, pgbenchP99Ms: 6, clean: true });
  });

  it('judges on every pair, and is not clean, when pgbench stalled in all of them', () => {
    const verdict = judgeBudgetLoad(1800, [pair(40, 80), pair(60, 120)]);
    expect(verdict).toMatchObject({ judged: 2, p99OverPgbenchMs: -50, clean: false });
  });
});
