import { randomFillSync } from 'node:crypto';
import { v7 as timeOrderedUuid } from 'uuid';

// Random bytes for `RANDOM_IDS` ids at a time: the library's own source of them asks the system
// for 16 bytes an id, 4.7 µs a call here, against 0.3 µs an id from this pool.
const RANDOM_IDS = 256;
const random = Buffer.alloc(16 * RANDOM_IDS);
let randomTaken = RANDOM_IDS;

/**
 * A new id for the rows made most, the event log's (one a change) and the tasks': a UUID that
 * begins with the millisecond of its making (version 7), so that a new row's entries go to the
 * right-hand end of the indexes that end with its id (the primary key; a task's board and id).
 * With random ids each insert wrote to an index page of its own, which after a checkpoint costs a
 * whole page image in the write-ahead log, and on a table larger than memory a read from disk: on
 * a million events, 2.1–2.7 KB of WAL an event against 0.65–0.89 KB; on a million tasks, 4.3–4.9
 * KB a task against 1–1.5 KB (bench/FINDINGS.md, "Event and task ids"). The millisecond never
 * goes back on one node's clock; ids of one millisecond are in no order. Other rows keep random
 * ids (`baseProperties`; `timeOrderedBaseProperties` for these), as do ids made in SQL.
 */
export function timeOrderedId(): string {
  if (randomTaken === RANDOM_IDS) {
    randomFillSync(random);
    randomTaken = 0;
  }
  return timeOrderedUuid({ random: random.subarray(16 * randomTaken, 16 * ++randomTaken) });
}
