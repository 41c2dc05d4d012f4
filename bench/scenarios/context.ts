import type { BenchDatabase } from '../lib/database.js';
import type { Board, Fixture } from '../lib/seed.js';
import type { Generator } from '../lib/workers.js';

/** What every scenario gets from the run. */
export interface BenchContext {
  quick: boolean;
  /** Scratch space for this run (heap reports), removed at the end. */
  workDir: string;
  database: BenchDatabase;
  fixture: Fixture;
  generators: Generator[];
  log(message: string): void;
}

export type { Board };

/** A numbered tag, unique in the run, marking one step's messages. */
let tags = 0;
export function nextTag(prefix: string): string {
  tags += 1;
  return `${prefix}${tags}`;
}
