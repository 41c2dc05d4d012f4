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

// A hash of a random password, verified against when the email is unknown, so that an unknown
// email costs the same time as a wrong password.
let decoy: Promise<string> | undefined;

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (hash === null) {
    decoy ??= hashPassword(crypto.randomUUID());
    await matches(await decoy, password);
    return false;
  }
  return matches(hash, password);
}

/** Whether `password` is the one `hash` was made of: its normalized form, or as typed (a hash made before 12-05 was of that). */
async function matches(hash: string, password: string): Promise<boolean> {
  if (await argon2.verify(hash, normalized(password))) return true;
  return normalized(password) !== password && argon2.verify(hash, password);
}
