import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Orm, openDatabase } from '../server/db/orm.js';
import pg from 'pg';
import { join, type SqlValue, sql, withScriptConnection } from '../server/db/sql-script.js';
import { toWireError } from '../server/errors.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

// The quick paths write values into SQL text as literals and run prepared statements with them:
// what goes in must come back exactly, through every rendering, and nothing may break out.
let db: TestDatabase;
let database: { orm: Orm; close: () => Promise<void> } | undefined;
/** What the connection pool said: it names each connection it drops. */
const poolWarnings: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const log = { warn: (message: unknown) => poolWarnings.push(String(message)), error: () => {} };
  database = await openDatabase({ databaseUrl: db.url, dataDir: '' }, log);
  await database.orm.migrator.up();
});

afterAll(async () => {
  await database?.close();
  await db?.drop();
});

const NASTY = [
  "it's",
  "'); drop table users; --",
  'back\\slash, and a trailing one \\',
  "E'\\x27'",
  '$$ $1 ? ?? :name %s',
  'emoji 🧪, 中文, \u2028 line separator, tab\tand\nnewline',
  '',
];

async function echo(values: { text: string; list: string[]; at: Date; n: number }) {
  const statement = sql`select ${values.text}::text as text, ${values.list}::text[] as list, ${values.at}::timestamptz as at, ${values.n}::int as n`;
  const orm = database!.orm;
  const scripted = await withScriptConnection(orm, async (connection) => (await connection.run(statement))[0]![0]);
  const [bound] = await orm.em.fork().execute(...statement.bound());
  return { scripted, bound };
}

describe('sql literals and prepared statements', () => {
  it('bring every value back exactly, the first time (prepared) and after (executed), as bindings do', async () => {
    for (let round = 0; round < 2; round += 1) {
      for (const text of NASTY) {
        const values = { text, list: [text, 'b'], at: new Date('2031-02-03T04:05:06.789Z'), n: -42 };
        const { scripted, bound } = await echo(values);
        expect({ ...scripted, at: new Date(scripted!.at as string) }).toEqual({ text, list: [text, 'b'], at: values.at, n: -42 });
        expect(bound).toEqual(scripted);
      }
    }
    const [{ count }] = await database!.orm.em.fork().execute(`select count(*)::int as count from users`);
    expect(count).toBe(0); // the table is still there
  });

  it('refuses a NUL character before anything is sent', async () => {
    await expect(echo({ text: 'a\u0000b', list: [], at: new Date(), n: 1 })).rejects.toThrow(/NUL/);
  });

  it('runs on connections that PostgreSQL ends after a minute idle in a transaction, and that compile no plan (JIT)', async () => {
    const rows = await withScriptConnection(database!.orm, (connection) =>
      connection.run(sql`select current_setting('idle_in_transaction_session_timeout') as timeout, current_setting('jit') as jit`),
    );
    expect(rows![0]).toEqual([{ timeout: '1min', jit: 'off' }]);
  });

  it('drops a connection whose statement could not be prepared, and the next caller is served', async () => {
    const orm = database!.orm;
    // `unknown + unknown` names no one operator, so PREPARE fails.
    await expect(withScriptConnection(orm, (connection) => connection.run(sql`select ${'1'} + ${'2'} as x`))).rejects.toThrow(/not unique/);
    const dropped = poolWarnings.length;
    for (let i = 0; i < 12; i += 1) {
      const rows = await withScriptConnection(orm, (connection) => connection.run(sql`select ${i}::int as i`));
      expect(rows![0]).toEqual([{ i }]);
    }
    expect(poolWarnings.slice(dropped).join('\n')).toMatch(/Connection Error: .*not unique/);
  });
});

describe('sql text', () => {
  it('writes a string literal as node-postgres would', () => {
    for (const value of NASTY) expect(sql`select ${value}`.text).toBe(`select ${pg.escapeLiteral(value)}`);
  });

  it("names a statement's shape by where its fragments nest, so one name never stands for two texts", () => {
    const statement = (a: SqlValue, b: SqlValue) => sql`select ${a} as a, ${b} as b`;
    const one = () => sql`1`;
    const shapes = [statement(one(), 'x'), statement('x', one()), statement('x', 'y'), statement(one(), 'z')];
    const texts = new Map<string, string>();
    for (const each of shapes) {
      const text = each.parameters().text;
      expect(texts.get(each.shape()) ?? text).toBe(text);
      texts.set(each.shape(), text);
    }
    expect(texts.size).toBe(3);
    const column = () => sql`a`;
    expect(join([column(), column()], ', ').shape()).toBe(join([column(), column()], ', ').shape());
  });
});

describe('a closed pool', () => {
  it('answers UNAVAILABLE, as the database being away does, not INTERNAL', async () => {
    const closed = await openDatabase({ databaseUrl: db.url, dataDir: '' });
    await closed.close(); // as a stop does once its drain is over
    const thrown = await withScriptConnection(closed.orm, (connection) => connection.run(sql`select ${1}::int as one`)).catch(
      (error: unknown) => error,
    );
    expect(toWireError(thrown)).toEqual({
      error: { code: 'UNAVAILABLE', message: 'the database is unavailable; try again' },
      unexpected: true,
    });
  });
});
