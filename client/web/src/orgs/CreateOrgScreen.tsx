import { useState } from 'react';
import { slugOfName } from '../../../../shared/slugs.js';
import { api } from '../app/api.js';
import { navigate, paths } from '../app/router.js';
import { FormError, useFormAction } from '../common/forms.js';
import { ScreenHeading } from '../common/ScreenHeading.js';

/** A new organization, owned by the user; `onCreated` reloads their memberships. */
export function CreateOrgScreen({ onCreated, first }: { onCreated: () => Promise<void>; first: boolean }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const form = useFormAction();

  const create = async () => {
    const { org } = await api.createOrg({ name, ...(slug ? { slug } : {}) });
    await onCreated();
    navigate(paths.projects(org.slug));
  };

  return (
    <section className="page narrow">
      <ScreenHeading>{first ? 'Create your first organization' : 'New organization'}</ScreenHeading>
      <p className="hint">An organization is a team: its members share its projects and boards.</p>
      <form className="stack" onSubmit={form.submit(create, { leaving: true })}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} placeholder="Acme" />
        </label>
        <label>
          Address in links (optional)
          <input
            value={slug}
            onChange={(e) => setSlug(e.target.value.toLowerCase())}
            pattern="[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?"
            title="lowercase letters, digits and dashes"
            placeholder="acme"
            aria-describedby="org-address-hint"
          />
        </label>
        <p className="hint" id="org-address-hint">
          Its pages will be at /orgs/<strong>{slug || slugOfName(name)}</strong>
          {!slug && ', made from the name (with six letters and digits after it, should another organization have it)'}.
        </p>
        <FormError error={form.error} />
        <button type="submit" className="primary" disabled={form.busy}>
          Create organization
        </button>
      </form>
    </section>
  );
}
