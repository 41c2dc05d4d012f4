import { type SerializedError, err as serializedError } from 'pino-std-serializers';
import { sqlState } from './errors.js';

/**
 * A literal value in a statement's text, as MikroORM and pg write one in: between single quotes,
 * a quote doubled inside, and in an `E'…'` string a backslash escaping the character after it.
 */
const SQL_LITERAL = /'(?:[^'\\]|''|\\[\s\S])*'/g;

/** PostgreSQL's fields that may quote a row: "Failing row contains (…)", "Key (email)=(…) already exists". */
const ROW_FIELDS = ['detail', 'where', 'internalQuery'] as const;

/**
 * An error as the log writes it (pino's serializer), with no user's data in it when the database
 * raised it: a statement the ORM sent carries its values in its text (a task's title, an
 * address, a password's hash), which the driver puts in the error's message and stack. Those are
 * written as `'…'`, and the fields where PostgreSQL quotes a row are left out; the code, the
 * message's own words, the constraint, table and column stay.
 */
export function loggedError(error: Error): SerializedError {
  const logged = serializedError(error);
  // Not error-like (pino gives such a thing back as it is), or not the database's: as pino writes it.
  if (typeof logged?.message !== 'string' || typeof logged.stack !== 'string' || sqlState(error) === undefined) return logged;
  const { detail } = logged as { detail?: unknown }; // which the ORM also appends to the message
  const withoutRow = (text: string) => (typeof detail === 'string' && detail ? text.replaceAll(detail, '…') : text);
  for (const field of ROW_FIELDS) delete logged[field];
  logged.message = withoutValues(withoutRow(logged.message));
  logged.stack = withoutValues(withoutRow(logged.stack));
  return logged;
}

/** `text` (a database error's message) with its statement's literal values written as `'…'`. */
export function withoutValues(text: string): string {
  return text.replace(SQL_LITERAL, "'…'");
}
