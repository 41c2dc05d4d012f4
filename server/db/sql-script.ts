import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Orm } from './orm.js';

export type SqlValue = string | number | boolean | null | Date | readonly string[] | Sql;

/**
 * A piece of SQL and the values it names, from the `sql` template. It renders two ways: with
 * every value as an escaped literal (`text`), so that several statements can travel in one
 * simple-protocol message, one round trip for all; or with `?` placeholders and bindings
 * (`bound`), for the ORM's `execute`.
 */
export class Sql {
  constructor(
    private readonly strings: readonly string[],
    private readonly values: readonly SqlValue[],
  ) {}

  get text(): string {
    let text = this.strings[0]!;
    this.values.forEach((value, i) => {
      text += (value instanceof Sql ? value.text : literal(value)) + this.strings[i + 1]!;
    });
    return text;
  }

  bound(bindings: unknown[] = []): [string, unknown[]] {
    let text = this.strings[0]!;
    this.values.forEach((value, i) => {
      if (value instanceof Sql) text += value.bound(bindings)[0];
      else {
        text += '?';
        bindings.push(value);
      }
      text += this.strings[i + 1]!;
    });
    return [text, bindings];
  }
}

/** SQL from a template; see `Sql`. A nested `sql` fragment is spliced in as SQL, not as a value. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  return new Sql(strings, values);
}

/** The fragments, one after another with `separator` (SQL text, such as `', '`) between. */
export function join(fragments: Sql[], separator: string): Sql {
  return new Sql(['', ...fragments.slice(1).map(() => separator), ''], fragments);
}

function literal(value: Exclude<SqlValue, Sql>): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return quoted(value.toISOString());
  if (typeof value === 'string') return quoted(value);
  return `array[${value.map(quoted).join(', ')}]::text[]`;
}

function quoted(value: string): string {
  // A NUL would end the protocol message's string early: schemas refuse it, and so does this.
  if (value.includes('\u0000')) throw new TypeError('a NUL character cannot be written to PostgreSQL');
  return pg.escapeLiteral(value);
}

/** A pooled PostgreSQL connection that runs scripts: several statements, one round trip. */
export interface ScriptConnection {
  /** Runs the statements in one message; the rows of each, in order. */
  run(...statements: Sql[]): Promise<Array<Array<Record<string, unknown>>>>;
}

interface RawPgClient {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
  __knex__disposed?: unknown;
}

/**
 * Lends `work` a connection of the ORM's pool, on PostgreSQL only (null on the embedded
 * database, whose driver runs one statement per message). A transaction `work` opens must be
 * closed by it; if `work` throws, an open transaction is rolled back, and a connection that
 * cannot do even that is dropped from the pool rather than handed on.
 */
export async function withScriptConnection<T>(orm: Orm, work: (connection: ScriptConnection) => Promise<T>): Promise<T | null> {
  if (orm.em.getDriver().constructor !== PostgreSqlDriver) return null;
  const client = orm.em.getConnection().getKnex().client;
  const raw = (await client.acquireConnection()) as RawPgClient;
  const connection: ScriptConnection = {
    async run(...statements) {
      const result = await raw.query(statements.map((statement) => statement.text).join(';\n'));
      return (Array.isArray(result) ? result : [result]).map((each) => each.rows);
    },
  };
  try {
    return await work(connection);
  } catch (error) {
    await raw.query('rollback').catch((lost: unknown) => {
      raw.__knex__disposed ??= lost;
    });
    throw error;
  } finally {
    await client.releaseConnection(raw);
  }
}
