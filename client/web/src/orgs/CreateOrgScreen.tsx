import { type FormEvent, useState } from 'react';
import { api } from '../app/api.js';
import { navigate, paths } from '../app/router.js';

/** A new organization, owned by the user; `onCreated` reloads their memberships. */
export function CreateOrgScreen({ onCreated, first }: { onCreated: () => Promise<void>; first: boolean }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { org } = await api.createOrg({ name, ...(slug ? { slug } : {}) });
      await onCreated();
      navigate(paths.projects(org.slug));
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  }

  return (
    <section className="page narrow">
      <h1>{first ? 'Create your first organization' : 'New organization'}</h1>
      <p className="hint">An organization is a team: its members share its projects and boards.</p>
      <form className="stack" onSubmit={submit}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} placeholder="Acme" />
        </label>
        <label>
          Address (optional)
          <input
            value={slug}
            onChange={(e) => setSlug(e.target.value.toLowerCase())}
            pattern="[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?"
            title="lowercase letters, digits and dashes"
            placeholder="acme"
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Create organization
        </button>
      </form>
    </section>
  );
}
