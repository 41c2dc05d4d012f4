import { createHash, randomBytes } from 'node:crypto';

/** A new secret for a link or a key: 32 random bytes, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored of a secret (an API key, an invitation's or a reset link's token): SHA-256, hex. A high-entropy secret needs no slow hash. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
