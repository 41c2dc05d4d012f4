import { useEffect } from 'react';
import { api } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { notify } from '../common/notices.js';

/**
 * Invitations not yet accepted; an admin may withdraw one. Read again, in place, when `version`
 * moves (one sent, or one taken: its member joined).
 */
export function PendingInvites({ slug, version }: { slug: string; version: number }) {
  const invites = useResource(`invites:${slug}`, () => api.invites(slug));
  const { reload } = invites;
  useEffect(() => {
    if (version > 0) reload();
  }, [version, reload]);
  const list = invites.data ?? [];
  if (list.length === 0) return null;

  async function revoke(id: string) {
    try {
      await api.revokeInvite(slug, id);
      invites.reload();
    } catch (failure) {
      notify(`Could not withdraw the invitation: ${(failure as Error).message}`);
      invites.reload(); // accepted or withdrawn meanwhile, it is no longer pending
    }
  }

  return (
    <section>
      <h2 className="section-title">Pending invitations</h2>
      <ul className="invites" aria-label="Pending invitations">
        {list.map((invite) => (
          <li key={invite.id}>
            <span>
              {invite.email}{' '}
              <span className="hint">
                as {invite.role}, until {new Date(invite.expiresAt).toLocaleDateString()}
              </span>
            </span>
            <button type="button" className="link-button" onClick={() => revoke(invite.id)}>
              Withdraw
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
