import { createHash } from 'node:crypto';

/**
 * What the test helpers received from a server: every HTTP answer body (`api()`), every socket
 * event and every ack (`connect()`, `request()`). Strings only, kept in memory for the test file
 * (vitest runs each file in a process of its own), so that `no-secrets.setup.ts` can check them
 * for the forms of hidden fields once the file is done (DESIGN §3).
 */
export interface WireRecord {
  /** Where it came from, e.g. `HTTP POST /orgs → 201` or `socket board:event`. */
  source: string;
  text: string;
}

const records: WireRecord[] = [];

/** Keeps one received text. */
export function recordWire(source: string, text: string): void {
  records.push({ source, text });
}

/** Keeps one received socket payload (or ack), as JSON. */
export function recordWirePayload(source: string, payload: unknown): void {
  let text: string;
  try {
    text = JSON.stringify(payload) ?? String(payload);
  } catch {
    text = String(payload);
  }
  records.push({ source, text });
}

/** Everything recorded so far in this test file. */
export function wireRecords(): readonly WireRecord[] {
  return records;
}

export type LeakForm = 'argon2 hash' | 'hidden field name' | 'hash of a secret';

export interface SecretLeak {
  source: string;
  form: LeakForm;
  /** A short piece of the text around the finding. */
  excerpt: string;
}

/** A hidden field's name as a JSON key, also inside JSON that was itself put in a string. */
const HIDDEN_KEY = /\\*"(?:passwordHash|password_hash|keyHash|key_hash|tokenHash|token_hash)\\*"\s*:/gi;
const ARGON2 = /\$argon2/g;
/** An API key, as it legitimately appears once, in the answer that creates it. */
const API_KEY = /tfk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43,}/g;
/** An invitation token, as it would appear in an accept link. */
const INVITE_TOKEN = /[?&]token=([A-Za-z0-9_-]{43,})/g;
/** A SHA-256 in hex, as `key_hash` and `token_hash` are stored. */
const HEX64 = /(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function excerpt(text: string, index: number, length: number): string {
  const from = Math.max(0, index - 40);
  return `${from > 0 ? '…' : ''}${text.slice(from, index + length + 40)}${index + length + 40 < text.length ? '…' : ''}`;
}

/**
 * The forms of hidden fields in `texts`: an argon2 password hash; a JSON key named like a
 * hidden field; or a hex SHA-256 of a secret, where the secrets are the API keys and invitation
 * tokens found in the texts themselves, plus `knownSecrets` (found by other means, e.g. a mail).
 */
export function findSecretLeaks(texts: readonly WireRecord[], knownSecrets: Iterable<string> = []): SecretLeak[] {
  const leaks: SecretLeak[] = [];
  const secrets = new Set(knownSecrets);
  for (const { text } of texts) {
    for (const match of text.matchAll(API_KEY)) secrets.add(match[0]);
    for (const match of text.matchAll(INVITE_TOKEN)) secrets.add(match[1]!);
  }
  const hashes = new Set([...secrets].map(sha256));
  for (const { source, text } of texts) {
    for (const match of text.matchAll(ARGON2)) leaks.push({ source, form: 'argon2 hash', excerpt: excerpt(text, match.index, 8) });
    for (const match of text.matchAll(HIDDEN_KEY))
      leaks.push({ source, form: 'hidden field name', excerpt: excerpt(text, match.index, match[0].length) });
    if (hashes.size === 0) continue;
    for (const match of text.matchAll(HEX64)) {
      if (hashes.has(match[0].toLowerCase())) leaks.push({ source, form: 'hash of a secret', excerpt: excerpt(text, match.index, 64) });
    }
  }
  return leaks;
}
