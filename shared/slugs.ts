/**
 * The slug an org's name makes when none is given: its letters and digits, lower case and without
 * their accents (Zürich is `zurich`, not `zu-rich`), the rest as dashes, at most 50 characters;
 * `org` for a name with none, and `new-org` for `New` (`/orgs/new` is the web board's form for a
 * new organization). The server adds six random hex digits when it is taken; the web board shows it
 * as the name is typed.
 */
export function slugOfName(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // the accents NFKD took off their letters
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 50)
    .replace(/^-+|-+$/g, '');
  if (slug === 'new') return 'new-org';
  return slug || 'org';
}
