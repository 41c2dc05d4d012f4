import { useEffect, useRef, useState } from 'react';
import type { Membership } from '../app/api.js';
import { matchRoute, navigate, paths, usePath } from '../app/router.js';

const NEW_ORG = '__new__';

/**
 * The organizations the user belongs to: picking one with the pointer opens its projects at once;
 * with the keyboard, the arrow keys only pick (each would otherwise open the org it passed over),
 * and Enter or the Open button opens the one picked. On the page for a new org it shows
 * "+ New organization…"; on another page of no org (the account's), "Organization…", so that every
 * org, the last one used too, is a change that opens it.
 */
export function OrgSwitcher({ memberships, current }: { memberships: Membership[]; current: string | null }) {
  const creating = matchRoute(usePath()).name === 'new-org';
  const shown = current ?? (creating ? NEW_ORG : '');
  const [picked, setPicked] = useState(shown);
  const byPointer = useRef(false);
  useEffect(() => setPicked(shown), [shown]);
  const open = (value: string) => {
    if (value && value !== current) navigate(value === NEW_ORG ? paths.newOrg() : paths.projects(value));
  };
  return (
    <span className="org-switcher">
      <select
        aria-label="Organization"
        value={picked}
        onPointerDown={() => (byPointer.current = true)}
        onKeyDown={(event) => {
          byPointer.current = false;
          if (event.key === 'Enter') open(picked);
        }}
        onChange={(event) => {
          setPicked(event.target.value);
          if (byPointer.current) open(event.target.value);
        }}
      >
        {shown === '' && <option value="">Organization…</option>}
        {memberships.map(({ org }) => (
          <option key={org.id} value={org.slug}>
            {org.name}
          </option>
        ))}
        <option value={NEW_ORG}>+ New organization…</option>
      </select>
      {picked !== shown && (
        <button type="button" onClick={() => open(picked)}>
          Open
        </button>
      )}
    </span>
  );
}
