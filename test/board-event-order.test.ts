import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BoardEventJson } from '../shared/wire.js';
import { BoardEventOrder, type FindLogged, type LostChange } from '../server/board/board-event-order.js';
import type { Broadcaster } from '../server/context.js';

// The order in which one node sends a board's events out, given the order in which its changes
// take their seq and settle. (The same end to end, with real sockets: board-order.test.ts.)
const ORG = 'org';

function order(findLogged?: FindLogged) {
  const sent: Array<[string, number]> = [];
  const broadcaster = {
    boardEvent: (_orgId: string, event: BoardEventJson) => sent.push([event.projectId, event.seq]),
  } as unknown as Broadcaster;
  return { events: new BoardEventOrder(broadcaster, findLogged), sent };
}

const outgoing = (projectId: string, seq: number) => ({
  orgId: ORG,
  event: {
    projectId,
    seq,
    type: 'task.updated',
    actor: { kind: 'user', id: 'u', name: 'u' },
    data: {},
    clientMutationId: null,
    at: '',
  } as BoardEventJson,
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a board's events on one node", () => {
  it('go out at once when no change of the board is open', () => {
    const { events, sent } = order();
    events.send(outgoing('a', 1));
    events.send(outgoing('a', 2));
    expect(sent).toEqual([
      ['a', 1],
      ['a', 2],
    ]);
  });

  it('wait for a change that took an earlier seq and has not committed, then follow it', () => {
    const { events, sent } = order();
    events.taken(ORG, 'a', 7); // a move, several round trips from its commit
    events.send(outgoing('a', 8)); // the plain update that took the next seq the moment it committed
    events.send(outgoing('b', 3)); // another board does not wait
    expect(sent).toEqual([['b', 3]]);
    events.settled(ORG, 'a', 7, outgoing('a', 7));
    expect(sent).toEqual([
      ['b', 3],
      ['a', 7],
      ['a', 8],
    ]);
  });

  it('wait for a quick change sent and not answered, whose seq may come before the one another change takes meanwhile', () => {
    const { events, sent } = order();
    const answered = events.quickSent(ORG, 'a'); // a plain update's message: it takes 95 and commits, its answer not read yet
    events.taken(ORG, 'a', 96); // a move, waiting on the board's row, takes the next seq the moment 95 commits
    events.settled(ORG, 'a', 96, outgoing('a', 96)); // and commits first
    events.send(outgoing('b', 3)); // another board does not wait
    expect(sent).toEqual([['b', 3]]);
    events.send(outgoing('a', 95)); // the update's answer is read at last
    expect(sent).toEqual([
      ['b', 3],
      ['a', 95],
    ]);
    answered();
    expect(sent).toEqual([
      ['b', 3],
      ['a', 95],
      ['a', 96],
    ]);
  });

  it('hold a seq only for the quick changes sent before it was taken, until each is answered or declined', () => {
    const { events, sent } = order();
    events.taken(ORG, 'a', 4);
    const later = events.quickSent(ORG, 'a'); // its seq can only come after 4, whose change holds the board's row
    events.settled(ORG, 'a', 4, outgoing('a', 4));
    expect(sent).toEqual([['a', 4]]);
    const declined = events.quickSent(ORG, 'a');
    events.taken(ORG, 'a', 5); // both quick changes were sent before 5 was taken: either may hold an earlier seq
    events.settled(ORG, 'a', 5, outgoing('a', 5));
    declined(); // it wrote nothing (the general path takes it over)
    expect(sent).toEqual([['a', 4]]);
    later();
    expect(sent).toEqual([
      ['a', 4],
      ['a', 5],
    ]);
  });

  it('hold a seq for a quick change five seconds at most', () => {
    vi.useFakeTimers();
    const { events, sent } = order();
    events.quickSent(ORG, 'a'); // never answered: its connection went silent
    events.taken(ORG, 'a', 2);
    events.settled(ORG, 'a', 2, outgoing('a', 2));
    vi.advanceTimersByTime(4999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([['a', 2]]);
  });

  it('let the later ones go when the open change writes nothing, and a seq it gave back may be taken again', () => {
    const { events, sent } = order();
    events.taken(ORG, 'a', 4);
    events.taken(ORG, 'a', 4); // rolled back in PostgreSQL already, and taken by the next change
    events.settled(ORG, 'a', 4, null);
    events.send(outgoing('a', 5));
    expect(sent).toEqual([]);
    events.settled(ORG, 'a', 4, outgoing('a', 4));
    expect(sent).toEqual([
      ['a', 4],
      ['a', 5],
    ]);
  });

  it("go out in each board's seq order when one change settles thousands of seqs at once, after a change still open before them", () => {
    const { events, sent } = order();
    events.taken(ORG, 'b', 1); // another change, still open on one of the boards
    const seqs = [
      ...Array.from({ length: 20_000 }, (_, i) => ({ projectId: 'a', seq: i + 1 })),
      ...Array.from({ length: 3 }, (_, i) => ({ projectId: 'b', seq: i + 2 })),
    ];
    for (const { projectId, seq } of seqs) events.taken(ORG, projectId, seq);
    events.settledAll(
      ORG,
      seqs.reverse().map(({ projectId, seq }) => ({ projectId, seq, outgoing: outgoing(projectId, seq) })),
    );
    expect(sent).toEqual(Array.from({ length: 20_000 }, (_, i) => ['a', i + 1]));
    events.settled(ORG, 'b', 1, null);
    expect(sent.slice(20_000)).toEqual([
      ['b', 2],
      ['b', 3],
      ['b', 4],
    ]);
  });

  it('stop waiting for a change that has not settled after five seconds (its connection went silent, say)', () => {
    vi.useFakeTimers();
    const { events, sent } = order();
    events.taken(ORG, 'a', 20);
    events.send(outgoing('a', 21));
    vi.advanceTimersByTime(4999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([['a', 21]]);
    events.send(outgoing('a', 22)); // no longer held back by 20
    events.settled(ORG, 'a', 20, outgoing('a', 20)); // whenever it commits, it goes out
    expect(sent.map(([, seq]) => seq)).toEqual([21, 22, 20]);
  });

  it('put open changes that settle out of order back in seq order', () => {
    const { events, sent } = order();
    for (const seq of [10, 11, 12]) events.taken(ORG, 'a', seq);
    events.settled(ORG, 'a', 12, outgoing('a', 12));
    events.settled(ORG, 'a', 11, outgoing('a', 11));
    expect(sent).toEqual([]);
    events.settled(ORG, 'a', 10, outgoing('a', 10));
    expect(sent.map(([, seq]) => seq)).toEqual([10, 11, 12]);
    events.send(outgoing('a', 13));
    expect(sent.map(([, seq]) => seq)).toEqual([10, 11, 12, 13]);
  });

  it("send a retry's answer again only when the try that wrote it was answered UNAVAILABLE here", () => {
    const { events, sent } = order();
    const answered = { ...outgoing('a', 30), event: { ...outgoing('a', 30).event, clientMutationId: 'acked' } };
    const lost = { ...outgoing('a', 29), event: { ...outgoing('a', 29).event, clientMutationId: 'lost' } };
    const later = { ...outgoing('a', 31), event: { ...outgoing('a', 31).event, clientMutationId: 'later' } };
    events.send(answered);
    events.retried(answered, 'row-30'); // broadcast when it committed: not again
    events.unsureOf(ORG, 'a', 'lost', 'row-29'); // the database went away under it: committed or not, no one knows
    events.retried(lost, 'row-29'); // it had committed: out now, once
    events.retried(lost, 'row-29');
    events.unsureOf(ORG, 'a', 'later', 'row-failed'); // this try did not commit…
    events.send(later); // …a later try did, and was broadcast
    events.retried(later, 'row-31'); // not again
    expect(sent).toEqual([
      ['a', 30],
      ['a', 29],
      ['a', 31],
    ]);
  });

  it('look for a change that logged many events, all or none, as one change: by its last row, all sent once found', async () => {
    const looked: LostChange[] = [];
    const logged = [outgoing('a', 7), outgoing('a', 8), outgoing('b', 3)].map(({ event }, i) => ({ id: `row-${i}`, event }));
    const { events, sent } = order(async (_orgId, _projectId, change) => {
      looked.push(change);
      return logged.at(-1)!;
    });
    events.unsureOfAll(ORG, logged); // a label's deletion, its commit's answer lost
    expect(events.lookingFor).toBe(1);
    await events.lookOnceMore();
    expect(looked).toEqual([{ eventId: 'row-2' }]);
    expect(sent).toEqual([
      ['a', 7],
      ['a', 8],
      ['b', 3],
    ]);
  });
});
