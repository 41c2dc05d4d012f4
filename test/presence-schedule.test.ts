import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PresenceSchedule } from '../server/presence/presence-schedule.js';

// When boards' presence lists go out, on fake time: each list costs 1 ms per socket of its room,
// and a cycle of 10 ms may spend 10 ms. (Lists end to end, with real sockets: presence.test.ts.)
const CYCLE_MS = 10;

function schedule(sockets: Record<string, number>, answer?: (room: string) => Promise<void>) {
  const sent: string[] = [];
  const presence = new PresenceSchedule({
    send: async (room) => {
      sent.push(room);
      await answer?.(room);
      return sockets[room]!;
    },
    localSockets: (room) => sockets[room]!,
    cycleMs: CYCLE_MS,
    budgetMs: 10,
    msPerSocket: 1,
  });
  /** The rooms sent in the next cycle. */
  const cycle = async () => {
    const before = sent.length;
    await vi.advanceTimersByTimeAsync(CYCLE_MS);
    return sent.slice(before);
  };
  return { presence, cycle };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('presence lists', () => {
  it('go out once a cycle for every board that changed, however often it changed', async () => {
    const { presence, cycle } = schedule({ a: 2, b: 3 });
    presence.touch('a');
    presence.touch('b');
    presence.touch('a');
    expect(await cycle()).toEqual(['a', 'b']);
    expect(await cycle()).toEqual([]);
    presence.touch('b');
    expect(await cycle()).toEqual(['b']);
  });

  it('in a storm, spread over cycles within the budget, oldest change first, none lost', async () => {
    const { presence, cycle } = schedule({ a: 4, b: 4, c: 4, d: 4, e: 4 });
    for (const room of ['a', 'b', 'c', 'd', 'e']) presence.touch(room);
    expect(await cycle()).toEqual(['a', 'b']);
    presence.touch('a'); // changed again: behind the boards that waited
    presence.touch('d'); // still waiting: keeps its place
    expect(await cycle()).toEqual(['c', 'd']);
    expect(await cycle()).toEqual(['e', 'a']);
    expect(await cycle()).toEqual([]);
  });

  it('send a board too big for the budget alone in its cycle', async () => {
    const { presence, cycle } = schedule({ big: 50, small: 1 });
    presence.touch('big');
    presence.touch('small');
    expect(await cycle()).toEqual(['big']);
    expect(await cycle()).toEqual(['small']);
  });

  it('never send one board twice at once, and let a slow one hold up no other', async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const { presence, cycle } = schedule({ a: 1, b: 1 }, (room) => (room === 'a' ? slow : Promise.resolve()));
    presence.touch('a');
    expect(await cycle()).toEqual(['a']);
    presence.touch('a');
    presence.touch('b');
    expect(await cycle()).toEqual(['b']);
    expect(await cycle()).toEqual([]);
    release();
    expect(await cycle()).toEqual(['a']);
  });

  it('adjust to what a list is measured to cost', async () => {
    // Lists cost 1 ms a socket, where the first guess was 0.1 ms: within a few cycles the budget
    // holds at two boards of four sockets a cycle.
    const sockets = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`r${i}`, 4]));
    const sent: string[] = [];
    const presence = new PresenceSchedule({
      send: async (room) => (sent.push(room), 4),
      localSockets: () => 4,
      cycleMs: CYCLE_MS,
      budgetMs: 10,
      msPerSocket: 0.1,
    });
    for (const room of Object.keys(sockets)) presence.touch(room);
    const perCycle: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = sent.length;
      await vi.advanceTimersByTimeAsync(CYCLE_MS);
      perCycle.push(sent.length - before);
    }
    expect(perCycle[0]).toBeGreaterThan(20); // 10 ms by the guess
    expect(perCycle.slice(-2)).toEqual([2, 2]);
  });

  it('stop when closed', async () => {
    const { presence, cycle } = schedule({ a: 1 });
    presence.touch('a');
    presence.close();
    expect(await cycle()).toEqual([]);
    presence.touch('a');
    expect(await cycle()).toEqual([]);
  });
});
