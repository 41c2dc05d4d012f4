import { useState } from 'react';
import { api, type Me } from '../app/api.js';
import { session } from '../app/session.js';
import { FormError, NewPasswordField, useFormAction } from '../common/forms.js';
import { notify } from '../common/notices.js';

/**
 * The user's own account: a new password, and signing out every other session. Either ends every
 * session signed in before, on every device; this tab carries on with the fresh token it is given.
 */
export function AccountScreen({ me }: { me: Me }) {
  const [currentPassword, setCurrentPassword] = useState('');
  const [password, setPassword] = useState('');
  const form = useFormAction();

  /** Carries on with the fresh token `action` answers, and says what happened. */
  const renew = (action: () => Promise<{ token: string }>, done: string) => async () => {
    session.signIn((await action()).token);
    setCurrentPassword('');
    setPassword('');
    notify(done, 'info');
  };
  const changePassword = renew(
    () => api.changePassword({ currentPassword, password }),
    'Password changed. Your other sessions were signed out.',
  );
  const signOutOthers = renew(() => api.signOutOthers(), 'Your other sessions were signed out.');

  return (
    <section className="page narrow">
      <h1>Your account</h1>
      <p className="hint">
        Signed in as {me.user.name} ({me.user.email}).
      </p>
      <form className="stack" onSubmit={form.submit(changePassword)} aria-labelledby="password-title">
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
        <NewPasswordField value={password} onChange={setPassword} />
        <FormError error={form.error} />
        <button type="submit" className="primary" disabled={form.busy}>
          Change password
        </button>
      </form>
      <div className="stack">
        <h2>Other sessions</h2>
        <p className="hint">Lost a device, or signed in somewhere you should not stay? Sign out everywhere but here.</p>
        <button type="button" disabled={form.busy} onClick={() => void form.run(signOutOthers)}>
          Sign out other sessions
        </button>
      </div>
    </section>
  );
}
