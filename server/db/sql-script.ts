import pg from 'pg';
import type { Orm } from './orm.js';
import { onPostgreSql, quotedLiteral } from './platform.js';
import { dropIfReadOnly } from './read-only-sessions.js';
import { lendingStopped } from './settle.js';

export type SqlValue = string | number | boolean | null | Date | readonly string[] | Sql;

/**
 * A piece of SQL and the values it names, from the `sql` template. It renders with every value
 * as an escaped literal (`text`), so that several statements can travel in one simple-protocol
 * message, one round trip for all; as a statement to prepare and the values to execute it with
 * (`parameters`); or with `?` placeholders and bindings (`bound`), for the ORM's `execute`.
 */
export class Sql {
  /** `shape()`, once asked: a fragment never changes, and constant ones are part of every change's message. */
  private knownShape: string | undefined;

  constructor(
    private readonly strings: readonly string[],
    private readonly values: readonly SqlValue[],
  ) {}

  get text(): string {
    return this.render(literal).text;
  }

  /** The text with `$1`…`$n` for the values (a statement to prepare), and the values. */
  parameters(): { text: string; values: PlainValue[] } {
    return this.render((_, n) => `$${n}`);
  }

  /**
   * What `parameters()`'s text depends on, without writing it: the templates and how they nest.
   * A statement of the same shape as one prepared before runs by name, its text never written.
   */
  shape(): string {
    if (this.knownShape !== undefined) return this.knownShape;
    let shape = String(templateId(this.strings));
    for (const value of this.values) shape += value instanceof Sql ? `(${value.shape()})` : '$';
    return (this.knownShape = shape);
  }

  /** The values, as `parameters()` numbers them. */
  plainValues(values: PlainValue[] = []): PlainValue[] {
    for (const value of this.values) {
      if (value instanceof Sql) value.plainValues(values);
      else values.push(value);
    }
    return values;
  }

  /** The text with `?` for the values (an array's items each), and the values, for the ORM's `execute`. */
  bound(): [string, unknown[]] {
    const bindings: unknown[] = [];
    const { text } = this.render((value) => {
      if (!Array.isArray(value)) {
        bindings.push(value);
        return '?';
      }
      bindings.push(...value);
      return `array[${value.map(() => '?').join(', ')}]::text[]`;
    });
    return [text, bindings];
  }

  private render(placeholder: (value: PlainValue, n: number) => string, values: PlainValue[] = []): { text: string; values: PlainValue[] } {
    let text = this.strings[0]!;
    this.values.forEach((value, i) => {
      if (value instanceof Sql) text += value.render(placeholder, values).text;
      else {
        values.push(value);
        text += placeholder(value, values.length);
      }
      text += this.strings[i + 1]!;
    });
    return { text, values };
  }
}

type PlainValue = Exclude<SqlValue, Sql>;

/** SQL from a template; see `Sql`. A nested `sql` fragment is spliced in as SQL, not as a value. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  return new Sql(strings, values);
}

/** A timestamp as `Date.prototype.toISOString` writes it, for JSON the database builds. */
export function isoTime(column: Sql): Sql {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** The fragments, one after another with `separator` (SQL text, such as `', '`) between. */
export function join(fragments: Sql[], separator: string): Sql {
  const key = `${fragments.length}:${separator}`;
  let strings = joinStrings.get(key);
  if (!strings) joinStrings.set(key, (strings = ['', ...fragments.slice(1).map(() => separator), '']));
  return new Sql(strings, fragments);
}

// A template's strings are one array per place in the code, so they name its shape; `join` keeps
// one array per count and separator for the same reason.
const joinStrings = new Map<string, readonly string[]>();
const templateIds = new WeakMap<readonly string[], number>();
let templates = 0;

function templateId(strings: readonly string[]): number {
  let id = templateIds.get(strings);
  if (id === undefined) templateIds.set(strings, (id = ++templates));
  return id;
}

function literal(value: PlainValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return quotedLiteral(value.toISOString());
  if (typeof value === 'string') return quotedLiteral(value);
  return `array[${value.map(quotedLiteral).join(', ')}]::text[]`;
}

/** A pooled PostgreSQL connection that runs scripts: several statements, one round trip. */
export interface ScriptConnection {
  /**
   * Runs the statements in one message; the rows of each, in order. PostgreSQL runs a message
   * without a BEGIN of its own as one transaction, committed at its end, rolled back on an error.
   */
  run(...statements: Sql[]): Promise<Array<Array<Record<string, unknown>>>>;
  /** Whether other work waits for a connection of the pool, so that this one should be let go. */
  wanted(): boolean;
  /** Lets this connection go from the pool once it is given back, where its session is not to be lent again. */
  drop(reason: unknown): void;
}

interface RawPgClient {
  query(config: { text: string }, callback: (error: Error | null, result: pg.QueryResult | pg.QueryResult[]) => void): void;
  __knex__disposed?: unknown;
}

/** One message on `raw`. (pg's callback form: its promise form costs a third more CPU on a large result.) */
function send(raw: RawPgClient, text: string): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    raw.query({ text }, (error, result) => (error ? reject(error) : resolve(Array.isArray(result) ? result : [result])));
  });
}

// Statements are prepared once per connection and then run as `execute name(literals…)`, so
// PostgreSQL parses and plans each shape once instead of on every message. The shapes are the
// code's own (a few dozen); past the cap, a new one is sent as plain text.
const MAX_SHAPES = 500;
/** Each shape's statement name, by its text, and by `Sql.shape()` once its text was written. */
const shapeNames = new Map<string, string>();
const namesByShape = new Map<string, string>();
const preparedOn = new WeakMap<RawPgClient, Set<string>>();

/** `statement` run as the prepared statement `name` of its shape, its values written as literals. */
export function executeStatement(name: string, statement: Sql): string {
  return `execute ${name}(${statement.plainValues().map(literal).join(', ')})`;
}

/** Each statement as the message sends it, after preparing on `raw` the shapes it has not seen. */
async function executable(raw: RawPgClient, statements: Sql[]): Promise<string[]> {
  const prepared = preparedOn.get(raw) ?? new Set<string>();
  preparedOn.set(raw, prepared);
  const toPrepare = new Map<string, string>();
  const texts = statements.map((statement) => {
    const shape = statement.shape();
    let name = namesByShape.get(shape);
    if (!name || !prepared.has(name)) {
      const { text, values } = statement.parameters();
      if (values.length === 0) return text; // begin, commit: nothing to plan, or not preparable
      name = shapeNames.get(text);
      if (!name && shapeNames.size < MAX_SHAPES) shapeNames.set(text, (name = `taskflow_${shapeNames.size + 1}`));
      if (!name) return statement.text;
      namesByShape.set(shape, name);
      if (!prepared.has(name)) toPrepare.set(name, `prepare ${name} as ${text}`);
    }
    return executeStatement(name, statement);
  });
  if (toPrepare.size > 0) {
    await send(raw, [...toPrepare.values()].join(';\n')).catch((error: unknown) => {
      // Some may have been prepared before the one that failed: this connection's record is
      // wrong now, so the pool drops it rather than lend it again.
      raw.__knex__disposed ??= error;
      throw error;
    });
    for (const name of toPrepare.keys()) prepared.add(name);
  }
  return texts;
}

/**
 * Lends `work` a connection of the ORM's pool, on PostgreSQL only (null on the embedded
 * database, whose driver runs one statement per message). A transaction `work` opens must be
 * closed by it; if `work` throws, an open transaction is rolled back, and a connection that
 * cannot do even that is dropped from the pool rather than handed on.
 */
export async function withScriptConnection<T>(orm: Orm, work: (connection: ScriptConnection) => Promise<T>): Promise<T | null> {
  if (!onPostgreSql(orm)) return null;
  const client = orm.em.getConnection().getKnex().client;
  const raw = (await client.acquireConnection()) as RawPgClient;
  const connection: ScriptConnection = {
    async run(...statements) {
      try {
        const results = await send(raw, (await executable(raw, statements)).join(';\n'));
        return results.map((each) => each.rows);
      } catch (error) {
        // Here, not where `work` fails: a board's queue answers its changes' failures without throwing.
        dropIfReadOnly(raw, error);
        throw error;
      }
    },
    // A pool already destroyed (a stop that outlasted its drain), or that stopped lending, wants its connections back too.
    wanted: () => lendingStopped(client) || (client.pool?.numPendingAcquires() ?? 1) > 0,
    drop: (reason) => void (raw.__knex__disposed ??= reason),
  };
  try {
    return await work(connection);
  } catch (error) {
    await send(raw, 'rollback').catch((lost: unknown) => {
      raw.__knex__disposed ??= lost;
    });
    throw error;
  } finally {
    await client.releaseConnection(raw);
  }
}

/**
 * Runs one statement outside any tenant (an identity read or write, as the connecting role, on
 * its own transaction): on PostgreSQL as a prepared statement on a pooled connection, elsewhere
 * through the ORM.
 */
export async function runPlain<Row>(orm: Orm, statement: Sql): Promise<Row[]> {
  const rows = await withScriptConnection(orm, async (connection) => (await connection.run(statement))[0]!);
  return (rows ?? (await orm.em.getConnection().execute(...statement.bound()))) as Row[];
}
