import argon2 from 'argon2';

/**
 * A password as it is hashed: in Unicode's NFKC form, so that the same password typed on another
 * system or keyboard (accents composed or not, full-width letters) is the same (NIST SP 800-63B).
 */
const normalized = (password: string) => password.normalize('NFKC');

/** argon2id with the library's defaults (64 MiB, 3 passes), of the password's `normalized` form. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(normalized(password), { type: argon2.argon2id });
}

/** A password checked against a hash: whether it is the one, and whether the hash is of it as typed (`outdated`: made before passwords were normalized; hash it anew). */
export interface Verified {
  valid: boolean;
  outdated: boolean;
}

// A hash of a random password, verified against when the email is unknown, so that an unknown
// email costs the same time as a wrong password.
let decoy: Promise<string> | undefined;

export async function verifyPassword(hash: string | null, password: string): Promise<Verified> {
  if (hash === null) {
    decoy ??= hashPassword(crypto.randomUUID());
    await matches(await decoy, password);
    return { valid: false, outdated: false };
  }
  return matches(hash, password);
}

async function matches(hash: string, password: string): Promise<Verified> {
  if (await argon2.verify(hash, normalized(password))) return { valid: true, outdated: false };
  const asTyped = normalized(password) !== password && (await argon2.verify(hash, password));
  return { valid: asTyped, outdated: asTyped };
}
