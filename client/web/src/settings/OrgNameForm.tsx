import { useEffect, useState } from 'react';
import { api } from '../app/api.js';
import { FormError, useFormAction } from '../common/forms.js';
import { notify } from '../common/notices.js';

/** An admin renames the org; its slug, and so its links, stay. */
export function OrgNameForm({ slug, name, onRenamed }: { slug: string; name: string; onRenamed: () => Promise<void> }) {
  const [draft, setDraft] = useState(name);
  const form = useFormAction();
  useEffect(() => setDraft(name), [name]);
  const rename = async () => {
    await api.renameOrg(slug, draft.trim());
    await onRenamed();
    notify(`The organization is now called ${draft.trim()}.`, 'info');
  };
  return (
    <form className="inline-form" onSubmit={form.submit(rename)} aria-labelledby="org-name-title">
      <h2 className="section-title" id="org-name-title">
        Name
      </h2>
      <input aria-label="Organization name" value={draft} onChange={(e) => setDraft(e.target.value)} required maxLength={200} />
      <button type="submit" className="primary" disabled={form.busy || draft.trim() === name || !draft.trim()}>
        Rename
      </button>
      <FormError error={form.error} />
    </form>
  );
}
