import type { EntityManager } from '@mikro-orm/postgresql';
import { type Sql, sql } from '../db/sql-script.js';

/**
 * Stamps when a reader came into an org, a member's `joined_at` or a key's `created_at`, by the
 * database's clock in the last statement of the transaction that makes them, once everything else
 * it holds is written (`em.flush`). A replay never reaches back before that stamp (`readerSince`
 * in `board-read.ts`), and events are stamped before they commit: a stamp taken at the start of
 * a transaction that then waited (a lock, a slow disk) would let the newcomer replay events
 * committed before they came, a card deleted meanwhile with its text (the interplay review).
 * Answers the stamp, for the answer to the request.
 */
async function stampArrival(em: EntityManager, update: Sql): Promise<Date> {
  await em.flush();
  const [row] = await em.execute<Array<{ at: Date }>>(...update.bound());
  return new Date(row!.at);
}

export function stampJoining(em: EntityManager, orgId: string, userId: string): Promise<Date> {
  return stampArrival(
    em,
    sql`update memberships set joined_at = clock_timestamp() where org_id = ${orgId} and user_id = ${userId} returning joined_at as at`,
  );
}

export function stampMaking(em: EntityManager, orgId: string, keyId: string): Promise<Date> {
  return stampArrival(
    em,
    sql`update api_keys set created_at = clock_timestamp() where org_id = ${orgId} and id = ${keyId} returning created_at as at`,
  );
}
