import { useEffect, useRef, useState } from 'react';
import type { Membership } from '../app/api.js';
import { navigate, paths } from '../app/router.js';

const NEW_ORG = '__new__';

/**
 * The organizations the user belongs to: picking one with the pointer opens its projects at once;
 * with the keyboard, the arrow keys only pick (each would otherwise open the org it passed over),
 * and Enter or the Open button opens the one picked.
 */
export function OrgSwitcher({ memberships, current }: { memberships: Membership[]; current: string | null }) {
  const [picked, setPicked] = useState(current ?? '');
  const byPointer = useRef(false);
  useEffect(() => setPicked(current ?? ''), [current]);
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
        {current === null && <option value="">Choose an organization…</option>}
        {memberships.map(({ org }) => (
          <option key={org.id} value={org.slug}>
            {org.name}
          </option>
        ))}
        <option value={NEW_ORG}>+ New organization…</option>
      </select>
      {picked !== (current ?? '') && (
        <button type="button" onClick={() => open(picked)}>
          Open
        </button>
      )}
    </span>
  );
}
