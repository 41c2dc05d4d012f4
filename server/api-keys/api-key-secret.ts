import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashSecret, newSecret } from '../secret-hash.js';

const KEY_PATTERN = /^tfk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43,})$/;

export interface NewKey {
  key: string;
  prefix: string;
  hash: string;
}

/** A new key, `tfk_<prefix>_<secret>` with 32 random bytes of secret; only its hash is stored. */
export function generateKey(): NewKey {
  const prefix = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const key = `tfk_${prefix}_${newSecret()}`;
  return { key, prefix, hash: hashKey(key) };
}

/** The prefix of a well-formed key, or null. */
export function keyPrefix(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}

/** What is stored of a key (`hashSecret`). */
const hashKey = hashSecret;

/** Compares a presented key with a stored hash in constant time. */
export function keyMatches(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
