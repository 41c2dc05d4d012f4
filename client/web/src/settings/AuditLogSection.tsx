import { useEffect, useRef, useState } from 'react';
import { AUDIT_ACTIONS } from '../../../../shared/wire.js';
import type { AuditEntryJson } from '../../../index.js';
import { api, onOrgChanged } from '../app/api.js';
import { focusById } from '../common/focus.js';
import type { NameOf } from './name-of.js';
import { DataTable } from '../common/DataTable.js';
import { SettingsSection } from './SettingsSection.js';

/**
 * The org's audit log, newest first, 50 at a time ("Show older" reads the next page), narrowed to
 * one action if asked. A person an entry is about is named (`nameOf`).
 */
export function AuditLogSection({ slug, nameOf }: { slug: string; nameOf: NameOf }) {
  const [action, setAction] = useState('');
  const [pages, setPages] = useState<{ entries: AuditEntryJson[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const asked = useRef(0); // a page answered after a newer read was asked for is dropped

  const read = (cursor?: string) => {
    const reading = ++asked.current;
    setError(null);
    api.auditLog(slug, { ...(action ? { action } : {}), ...(cursor ? { cursor } : {}) }).then(
      (page) => {
        if (reading !== asked.current) return;
        setPages((before) => (cursor && before ? { entries: [...before.entries, ...page.entries], nextCursor: page.nextCursor } : page));
        if (cursor && !page.nextCursor) focusById('audit-title'); // "Show older" goes with the last page
      },
      (failure: Error) => reading === asked.current && setError(`Could not read the audit log: ${failure.message}`),
    );
  };
  useEffect(() => {
    setPages(null);
    read();
    // Read again from the newest whenever the action asked for changes, or the user changes something of the org on this page.
    return onOrgChanged(slug, () => read());
  }, [slug, action]);

  return (
    <SettingsSection id="audit-title" title="Audit log">
      <div className="row">
        <label className="check">
          Action
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">all</option>
            {AUDIT_ACTIONS.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="link-button" aria-label="Refresh the audit log" onClick={() => read()}>
          Refresh
        </button>
      </div>
      {error && <p className="form-error">{error}</p>}
      {pages && pages.entries.length === 0 && <p className="hint">Nothing recorded{action ? ' of that action' : ''} yet.</p>}
      {pages && pages.entries.length > 0 && (
        <DataTable label="Audit log" columns={['When', 'Who', 'Action', 'Details']}>
          {pages.entries.map((entry) => (
            <tr key={entry.id}>
              <td>{new Date(entry.createdAt).toLocaleString()}</td>
              <td>
                {entry.actor.name}
                {entry.actor.kind === 'bot' && <span className="hint"> (API key)</span>}
              </td>
              <td>
                <code>{entry.action}</code>
              </td>
              <td>{detailsOf(entry, nameOf)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      {pages?.nextCursor && (
        <div className="row">
          <button type="button" onClick={() => read(pages.nextCursor!)}>
            Show older
          </button>
        </div>
      )}
    </SettingsSection>
  );
}

/**
 * An entry's details in words: who it is about, where that is a person other than who did it, then
 * its recorded fields ("from member, to admin"). A member who left is not named twice ("left, was
 * member"); an invitation's id says nothing to a reader, and is left out.
 */
function detailsOf(entry: AuditEntryJson, nameOf: NameOf): string {
  if (entry.action === 'member.left' && typeof entry.details.role === 'string') return `left, was ${entry.details.role}`;
  const self = entry.actor.kind === 'user' && entry.entityId === entry.actor.id;
  const about = entry.entityType === 'user' && entry.entityId && !self ? [nameOf(entry.entityId)] : [];
  const fields = Object.entries(entry.details)
    .filter(([key]) => key !== 'inviteId')
    .map(([key, value]) => `${key} ${wordsOf(value)}`);
  return [...about, ...fields].join(' · ');
}

function wordsOf(value: unknown): string {
  if (Array.isArray(value)) return value.map(wordsOf).join(', ');
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
}
