import { type FormEvent, useState } from 'react';
import type { Role } from '../../../../shared/roles.js';
import { api } from '../app/api.js';
import { notify } from '../common/notices.js';

/** Adds someone with an account at once; anyone else gets an invitation by mail. */
export function InviteForm({ slug, roles, onInvited }: { slug: string; roles: Role[]; onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const outcome = await api.invite(slug, { email, role });
      notify('member' in outcome ? `${outcome.member.user.name} joined as ${role}.` : `Invitation sent to ${email}.`, 'info');
      setEmail('');
      onInvited();
    } catch (failure) {
      setError((failure as Error).message);
    }
  }

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Invite">
      <h2 className="section-title">Invite someone</h2>
      <input
        type="email"
        aria-label="Email"
        placeholder="name@example.com"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
      />
      <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {roles.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <button type="submit" className="primary">
        Invite
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
