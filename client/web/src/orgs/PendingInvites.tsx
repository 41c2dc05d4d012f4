import { api } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { notify } from '../common/notices.js';

/** Invitations not yet accepted; an admin may withdraw one. */
export function PendingInvites({ slug, version }: { slug: string; version: number }) {
  const invites = useResource(`invites:${slug}:${version}`, () => api.invites(slug));
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
