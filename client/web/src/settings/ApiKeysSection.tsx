import { useState } from 'react';
import { API_KEY_PERMISSIONS, type ApiKeyPermission } from '../../../../shared/roles.js';
import type { ApiKeyJson } from '../../../index.js';
import { api } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { today } from '../board/board-view.js';
import { FormError, useFormAction } from '../common/forms.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { notify } from '../common/notices.js';
import { focusById } from '../common/focus.js';
import type { NameOf } from './name-of.js';
import { ShownOnce } from './ShownOnce.js';
import { DataTable } from '../common/DataTable.js';
import { SettingsSection } from './SettingsSection.js';

const PERMISSION_WORDS: Record<ApiKeyPermission, string> = {
  'boards:read': 'read boards',
  'tasks:write': 'change cards and columns',
  'projects:write': 'create and change projects',
};

/** The org's keys for bots: made with the permissions they need, shown once, revoked at any time. */
export function ApiKeysSection({ slug, nameOf }: { slug: string; nameOf: NameOf }) {
  const keys = useResource(`api-keys:${slug}`, () => api.apiKeys(slug));
  const [made, setMade] = useState<string | null>(null);
  return (
    <SettingsSection id="api-keys-title" title="API keys">
      <p className="hint">A bot connects with a key in place of a person's sign-in, with the permissions the key names.</p>
      {keys.error ? (
        <p className="form-error">Could not load the keys: {keys.error.message}</p>
      ) : (
        (keys.data?.length ?? 0) > 0 && (
          <DataTable label="API keys" columns={['Name', 'Permissions', 'Made by', 'Last used', 'Status']} actions>
            {keys.data!.map((key) => (
              <ApiKeyRow
                key={key.id}
                apiKey={key}
                slug={slug}
                madeBy={key.createdBy ? nameOf(key.createdBy) : '—'}
                onRevoked={keys.reload}
              />
            ))}
          </DataTable>
        )
      )}
      {made ? (
        <ShownOnce label="New API key" value={made} onDone={() => setMade(null)} returnFocusTo="api-keys-title" />
      ) : (
        <NewApiKeyForm
          slug={slug}
          onMade={(key) => {
            setMade(key);
            keys.reload();
          }}
        />
      )}
    </SettingsSection>
  );
}

/** A key's row; its maker may have left the org, and the key works on for the org till revoked. */
function ApiKeyRow({ apiKey, slug, madeBy, onRevoked }: { apiKey: ApiKeyJson; slug: string; madeBy: string; onRevoked: () => void }) {
  const live = keyState(apiKey) === 'active';
  const revoke = async () => {
    try {
      await api.revokeApiKey(slug, apiKey.id);
      notify(`The key ${apiKey.name} was revoked; bots using it were disconnected.`, 'info');
      onRevoked();
      focusById('api-keys-title'); // its button is gone
    } catch (failure) {
      notify(`Could not revoke the key ${apiKey.name}: ${(failure as Error).message}`);
    }
  };
  return (
    <tr>
      <td>
        {apiKey.name} <code className="hint">tfk_{apiKey.prefix}_…</code>
      </td>
      <td>{apiKey.permissions.join(', ')}</td>
      <td>{madeBy}</td>
      <td>{apiKey.lastUsedAt ? new Date(apiKey.lastUsedAt).toLocaleString() : 'never'}</td>
      <td>{keyStatus(apiKey)}</td>
      <td>
        {live && (
          <ConfirmButton
            label="Revoke"
            ariaLabel={`Revoke ${apiKey.name}`}
            confirmLabel={`Really revoke ${apiKey.name}`}
            onConfirm={revoke}
          />
        )}
      </td>
    </tr>
  );
}

/** Whether a key still lets its bots in. */
function keyState(key: ApiKeyJson): 'revoked' | 'expired' | 'active' {
  if (key.revokedAt) return 'revoked';
  return key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? 'expired' : 'active';
}

/** `keyState` in words, with its date. */
function keyStatus(key: ApiKeyJson): string {
  const state = keyState(key);
  const day = (at: string) => new Date(at).toLocaleDateString();
  if (state === 'revoked') return `revoked ${day(key.revokedAt!)}`;
  if (!key.expiresAt) return 'active';
  return state === 'expired' ? `expired ${day(key.expiresAt)}` : `active until ${day(key.expiresAt)}`;
}

function NewApiKeyForm({ slug, onMade }: { slug: string; onMade: (key: string) => void }) {
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState<ApiKeyPermission[]>(['boards:read']);
  const [expires, setExpires] = useState(''); // a date; the key works through the end of that day, here
  const form = useFormAction();
  const create = async () => {
    const expiresAt = expires ? new Date(`${expires}T23:59:59.999`).toISOString() : undefined;
    const { key } = await api.createApiKey(slug, { name: name.trim(), permissions, ...(expiresAt ? { expiresAt } : {}) });
    setName('');
    setExpires('');
    onMade(key);
  };
  const toggle = (permission: ApiKeyPermission, on: boolean) =>
    setPermissions((list) =>
      on ? API_KEY_PERMISSIONS.filter((p) => p === permission || list.includes(p)) : list.filter((p) => p !== permission),
    );
  return (
    <form className="stack narrow-form" onSubmit={form.submit(create)} aria-label="New API key">
      <h3 className="section-title">New key</h3>
      <label>
        Key name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} placeholder="Release bot" />
      </label>
      <fieldset>
        <legend className="hint">It may</legend>
        {API_KEY_PERMISSIONS.map((permission) => (
          <label key={permission} className="check">
            <input type="checkbox" checked={permissions.includes(permission)} onChange={(e) => toggle(permission, e.target.checked)} />
            {PERMISSION_WORDS[permission]} <code>{permission}</code>
          </label>
        ))}
      </fieldset>
      <label>
        Expires (optional)
        <input type="date" value={expires} min={today()} onChange={(e) => setExpires(e.target.value)} />
      </label>
      <FormError error={form.error} />
      <div className="row">
        <button type="submit" className="primary" disabled={form.busy || permissions.length === 0 || !name.trim()}>
          Create key
        </button>
      </div>
    </form>
  );
}
