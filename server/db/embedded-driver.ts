import type { Results } from '@electric-sql/pglite';
import { AbstractSqlDriver, type Configuration } from '@mikro-orm/postgresql';
import { PGliteConnection } from 'mikro-orm-pglite';
import { TaskflowPlatform } from './platform.js';

/**
 * `mikro-orm-pglite`'s connection, answering a raw statement with a `;` in its text as the
 * statement it is. MikroORM's `execute` writes the values into the SQL text, and PGlite's knex
 * dialect runs any raw text with a `;` in it as a script (`exec`), whose answer is a list of one
 * result per statement: so a task titled "deploy; then test" made its update statement's rows
 * vanish (INTERNAL), and a slug with a `;` found an org that is not there. `exec` parses the text as
 * PostgreSQL does, a `;` in a literal staying the literal's; here the answer of a script of one
 * statement is that statement's, as `query` would give it.
 */
class EmbeddedConnection extends PGliteConnection {
  protected override transformRawResult<T>(response: Results | Results[], method: 'all' | 'get' | 'run'): T {
    return super.transformRawResult(Array.isArray(response) && response.length === 1 ? response[0]! : response, method);
  }
}

/** The embedded database's driver: `mikro-orm-pglite`'s, on `EmbeddedConnection` and `TaskflowPlatform`. */
export class EmbeddedDriver extends AbstractSqlDriver<PGliteConnection> {
  constructor(config: Configuration) {
    super(config, new TaskflowPlatform(), EmbeddedConnection, ['knex', '@electric-sql/pglite', '@harryplusplus/knex-pglite']);
  }
}
