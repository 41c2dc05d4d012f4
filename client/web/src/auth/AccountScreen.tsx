import { useState } from 'react';
import type { OrgName } from '../../../index.js';
import { api, ApiError, type Me } from '../app/api.js';
import { Link, paths } from '../app/router.js';
import { session } from '../app/session.js';
import { FormError, NewPasswordField, useFormAction } from '../common/forms.js';
import { notify } from '../common/notices.js';
import { ScreenHeading } from '../common/ScreenHeading.js';

/**
 * The user's own account: a new password, and signing out every other session. Either ends every
 * session signed in before, on every device; this tab carries on with the fresh token it is given.
 */
export function AccountScreen({ me }: { me: Me }) {
  const [currentPassword, setCurrentPassword] = useState('');
  const [password, setPassword] = useState('');
  const passwordForm = useFormAction();
  const signOutForm = useFormAction();

  // Each carries on with the fresh token it is answered.
  const changePassword = async () => {
    session.signIn((await api.changePassword({ currentPassword, password })).token);
    setCurrentPassword('');
    setPassword('');
    notify('Password changed. Your other sessions were signed out.', 'info');
  };
  const signOutOthers = async () => {
    session.signIn((await api.signOutOthers()).token);
    notify('Your other sessions were signed out.', 'info');
  };

  return (
    <section className="page narrow">
      <ScreenHeading>Your account</ScreenHeading>
      <p className="hint">
        Signed in as {me.user.name} ({me.user.email}).
      </p>
      <form className="stack" onSubmit={passwordForm.submit(changePassword)} aria-labelledby="password-title">
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
        <FormError error={passwordForm.error} />
        <button type="submit" className="primary" disabled={passwordForm.busy}>
          Change password
        </button>
      </form>
      <div className="stack">
        <h2>Other sessions</h2>
        <p className="hint">Lost a device, or signed in somewhere you should not stay? Sign out everywhere but here.</p>
        <FormError error={signOutForm.error} />
        <button type="button" disabled={signOutForm.busy} onClick={() => void signOutForm.run(signOutOthers)}>
          Sign out other sessions
        </button>
      </div>
      <DeleteAccountForm />
    </section>
  );
}

/**
 * Deletes the account, given its password: the user leaves every org and is signed out. An org
 * they are the last owner of stops it, named with a link to its settings, where they can make
 * someone else an owner (on its members page) or delete it.
 */
function DeleteAccountForm() {
  const [password, setPassword] = useState('');
  const [lastOwned, setLastOwned] = useState<OrgName[]>([]);
  const form = useFormAction();
  const remove = async () => {
    setLastOwned([]);
    try {
      await api.deleteAccount(password);
    } catch (failure) {
      const orgs =
        failure instanceof ApiError && failure.code === 'CONFLICT' ? (failure.details as { orgs?: typeof lastOwned })?.orgs : null;
      if (orgs) setLastOwned(orgs);
      throw failure;
    }
    session.signOut();
    notify('Your account was deleted.', 'info');
  };
  return (
    <form className="stack danger-zone" onSubmit={form.submit(remove, { leaving: true })} aria-labelledby="delete-account-title">
      <h2 id="delete-account-title">Delete your account</h2>
      <p className="hint">
        You leave every organization and are signed out everywhere; your name and email are erased. Cards assigned to you stay assigned to a
        former member. This cannot be undone.
      </p>
      <label>
        Your password
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
      </label>
      <FormError error={form.error} />
      {lastOwned.length > 0 && (
        <ul className="plain-list" aria-label="Organizations you are the last owner of">
          {lastOwned.map((org) => (
            <li key={org.slug}>
              <Link to={paths.settings(org.slug)}>{org.name}</Link>
            </li>
          ))}
        </ul>
      )}
      <button type="submit" className="danger-button" disabled={form.busy}>
        Delete account
      </button>
    </form>
  );
}
