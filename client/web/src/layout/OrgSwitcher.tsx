import type { Membership } from '../app/api.js';
import { navigate, paths } from '../app/router.js';

const NEW_ORG = '__new__';

/** The organizations the user belongs to; picking one opens its projects. */
export function OrgSwitcher({ memberships, current }: { memberships: Membership[]; current: string | null }) {
  return (
    <select
      className="org-switcher"
      aria-label="Organization"
      value={current ?? ''}
      onChange={(event) => navigate(event.target.value === NEW_ORG ? paths.newOrg() : paths.projects(event.target.value))}
    >
      {current === null && <option value="">Choose an organization…</option>}
      {memberships.map(({ org }) => (
        <option key={org.id} value={org.slug}>
          {org.name}
        </option>
      ))}
      <option value={NEW_ORG}>+ New organization…</option>
    </select>
  );
}
