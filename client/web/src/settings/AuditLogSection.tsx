import { useEffect, useRef, useState } from 'react';
import { AUDIT_ACTIONS } from '../../../../shared/wire.js';
import type { AuditEntryJson } from '../../../index.js';
import { api } from '../app/api.js';
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
    // Read again from the newest whenever the action asked for changes.
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

/** An entry's details in words: who it is about, where that is a person, then its recorded fields ("from member, to admin"). */
function detailsOf(entry: AuditEntryJson, nameOf: NameOf): string {
  const about = entry.entityType === 'user' && entry.entityId ? [nameOf(entry.entityId)] : [];
  const fields = Object.entries(entry.details).map(([key, value]) => `${key} ${wordsOf(value)}`);
  return [...about, ...fields].join(' · ');
}

function wordsOf(value: unknown): string {
  if (Array.isArray(value)) return value.map(wordsOf).join(', ');
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
}
