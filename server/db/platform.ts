import { AbstractSqlDriver, type Configuration, PostgreSqlConnection, PostgreSqlPlatform } from '@mikro-orm/postgresql';
import type { Orm } from './orm.js';

/**
 * A string literal, as pg's `escapeLiteral` writes it (an `E''` string where it holds a
 * backslash), in a few allocations instead of one a character.
 */
export function quotedLiteral(value: string): string {
  // A NUL would end the protocol message's string early: schemas refuse it, and so does this.
  if (value.includes('\u0000')) throw new TypeError('a NUL character cannot be written to PostgreSQL');
  const escaped = `'${value.replaceAll("'", "''")}'`;
  return value.includes('\\') ? ` E${escaped.replaceAll('\\', '\\\\')}` : escaped;
}

/**
 * MikroORM's PostgreSQL platform, writing string values with `quotedLiteral`. MikroORM writes
 * every value of a query into its text, and its platform escapes a string with pg's
 * `escapeLiteral`, which adds the literal's characters to it one at a time: a string of a million
 * characters became a million short-lived strings. A column deleted with 2,000 cards of 20 KB
 * logs an event of 40 MB, which made 40 million of them, and the node spent 10 s in the garbage
 * collector, every other tenant on it waiting (`big-boards.test.ts`).
 */
export class TaskflowPlatform extends PostgreSqlPlatform {
  override escape(value: unknown): string {
    return typeof value === 'string' ? quotedLiteral(value) : super.escape(value);
  }
}

/** MikroORM's PostgreSQL driver, on `TaskflowPlatform`. */
export class TaskflowPostgreSqlDriver extends AbstractSqlDriver<PostgreSqlConnection> {
  constructor(config: Configuration) {
    super(config, new TaskflowPlatform(), PostgreSqlConnection, ['knex', 'pg']);
  }
}

/** Whether `orm` is on PostgreSQL through pg (its pooled connections take scripts and cancels), not on the embedded database. */
export function onPostgreSql(orm: Orm): boolean {
  return orm.em.getDriver() instanceof TaskflowPostgreSqlDriver;
}
