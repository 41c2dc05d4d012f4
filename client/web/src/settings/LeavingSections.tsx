import { useState } from 'react';
import { api, type Membership } from '../app/api.js';
import { navigate } from '../app/router.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { FormError, useFormAction } from '../common/forms.js';
import { notify } from '../common/notices.js';

/** Once the user is out of the org: their orgs read again, then on to another of them. */
async function leftOrg(reloadMe: () => Promise<void>, notice: string): Promise<void> {
  await reloadMe();
  navigate('/', { replace: true });
  notify(notice, 'info');
}

/** Anyone may leave an org but its last owner, whom the server refuses with a reason said here. */
export function LeaveOrgSection({
  membership,
  userId,
  reloadMe,
}: {
  membership: Membership;
  userId: string;
  reloadMe: () => Promise<void>;
}) {
  const form = useFormAction();
  const { slug, name } = membership.org;
  const leave = async () => {
    await api.removeMember(slug, userId);
    await leftOrg(reloadMe, `You left ${name}.`);
  };
  return (
    <div className="stack settings-section">
      <h2 className="section-title">Leave {name}</h2>
      <p className="hint">You lose access to its boards at once; an admin can invite you back.</p>
      <FormError error={form.error} />
      <div className="row">
        <ConfirmButton
          label="Leave organization"
          confirmLabel={`Really leave ${name}`}
          onConfirm={() => form.run(leave, { leaving: true })}
        />
      </div>
    </div>
  );
}

/** An owner deletes the org and everything in it, after typing its slug. */
export function DeleteOrgSection({ membership, reloadMe }: { membership: Membership; reloadMe: () => Promise<void> }) {
  const [typed, setTyped] = useState('');
  const form = useFormAction();
  const { slug, name } = membership.org;
  const remove = async () => {
    await api.deleteOrg(slug);
    await leftOrg(reloadMe, `${name} was deleted.`);
  };
  return (
    <form
      className="stack settings-section danger-zone narrow-form"
      onSubmit={form.submit(remove, { leaving: true })}
      aria-labelledby="delete-org-title"
    >
      <h2 className="section-title" id="delete-org-title">
        Delete {name}
      </h2>
      <p className="hint">
        Every board, card, member, API key and webhook of the organization goes with it, for everyone, and cannot be brought back.
      </p>
      <label>
        <span>
          Type <strong>{slug}</strong> to confirm
        </span>
        <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
      </label>
      <FormError error={form.error} />
      <div className="row">
        <button type="submit" className="danger-button" disabled={form.busy || typed !== slug}>
          Delete organization
        </button>
      </div>
    </form>
  );
}
