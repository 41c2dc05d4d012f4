import { PostgreSqlDriver, PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { TaskflowPlatform } from '../server/db/platform.js';

// MikroORM writes every value into the SQL text. Our platform escapes strings in a few
// allocations (pg's escaping made a string per character); what it writes must be what
// MikroORM's own platform wrote, for every kind of value.
describe("the ORM's SQL literals", () => {
  it("are MikroORM's own, for strings, arrays, JSON, dates and bytes", () => {
    const ours = new TaskflowPlatform();
    const theirs = new PostgreSqlPlatform();
    const values: unknown[] = [
      '',
      'plain',
      "it's",
      "''",
      'back\\slash',
      "both ' and \\",
      'ünïcödé 🎉',
      '\\',
      'line\nbreak',
      "E'x'",
      ['a', "b'c", 'd\\e'],
      { title: "it's", path: 'C:\\tmp' },
      new Date('2026-12-05T01:02:03.004Z'),
      Buffer.from('bytes'),
      42,
      null,
      true,
    ];
    for (const value of values) expect(ours.quoteValue(value), String(value)).toBe(theirs.quoteValue(value));
  });

  it("come from a driver that is MikroORM's PostgreSQL driver but for the platform", () => {
    // TaskflowPostgreSqlDriver repeats PostgreSqlDriver's constructor with our platform. Should a
    // MikroORM release give PostgreSqlDriver methods of its own, ours would lack them: this fails then.
    expect(Object.getOwnPropertyNames(PostgreSqlDriver.prototype)).toEqual(['constructor']);
  });
});
