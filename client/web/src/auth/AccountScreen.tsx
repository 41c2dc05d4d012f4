import { type FormEvent, useState } from 'react';
import { api, type Me } from '../app/api.js';
import { session } from '../app/session.js';
import { notify } from '../common/notices.js';

/**
 * The user's own account: a new password, and signing out every other session. Either ends every
 * session signed in before, on every device; this tab carries on with the fresh token it is given.
 */
export function AccountScreen({ me }: { me: Me }) {
  const [currentPassword, setCurrentPassword] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<{ token: string }>, done: string) {
    setBusy(true);
    setError(null);
    try {
      session.signIn((await action()).token);
      setCurrentPassword('');
      setPassword('');
      notify(done, 'info');
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function changePassword(event: FormEvent) {
    event.preventDefault();
    void run(() => api.changePassword({ currentPassword, password }), 'Password changed. Your other sessions were signed out.');
  }

  return (
    <section className="page narrow">
      <h1>Your account</h1>
      <p className="hint">
        Signed in as {me.user.name} ({me.user.email}).
      </p>
      <form className="stack" onSubmit={changePassword} aria-labelledby="password-title">
        <h2 id="password-title">Change your password</h2>
        <label>
          Current password
          <input
            type="password"
            value={currentPassword}
            onChange={(e) => setCurrentPassword(e.target.value)}
            autoComplete="current-password"
            required
          />
        </label>
        <label>
          New password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            minLength={8}
            maxLength={200}
            required
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Change password
        </button>
      </form>
      <div className="stack">
        <h2>Other sessions</h2>
        <p className="hint">Lost a device, or signed in somewhere you should not stay? Sign out everywhere but here.</p>
        <button type="button" disabled={busy} onClick={() => void run(() => api.signOutOthers(), 'Your other sessions were signed out.')}>
          Sign out other sessions
        </button>
      </div>
    </section>
  );
}
