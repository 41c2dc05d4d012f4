import { useEffect, useState } from 'react';
import { api, ApiError } from '../app/api.js';
import { navigate } from '../app/router.js';
import { session } from '../app/session.js';
import { FormError, NewPasswordField, useFormAction } from '../common/forms.js';

/** A refusal of the link itself (used, replaced by a later one, or expired): no password can be set with it. */
const isDeadLink = (failure: unknown) => failure instanceof ApiError && failure.status === 403;

/**
 * The page of a mailed reset link (`/reset-password#token=…`, in the fragment, which no server log sees): a new password, which signs in.
 * The link is checked as the page opens, so that one that no longer works is told before a password is typed.
 */
export function ResetPasswordScreen() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [password, setPassword] = useState('');
  const [dead, setDead] = useState(!token);
  const form = useFormAction();
  useEffect(() => {
    if (!token) return;
    let current = true;
    // Any other failure (the server away, say) leaves the form as it is: the reset itself will tell.
    void api.checkResetLink(token).catch((failure: unknown) => current && isDeadLink(failure) && setDead(true));
    return () => {
      current = false;
    };
  }, [token]);

  const reset = async () => {
    try {
      session.signIn((await api.resetPassword({ token, password })).token);
    } catch (failure) {
      if (isDeadLink(failure)) return setDead(true);
      throw failure;
    }
    navigate('/', { replace: true });
  };
  const back = (
    <button type="button" className="link-button" onClick={() => navigate('/')}>
      Back to sign in
    </button>
  );

  if (dead)
    return (
      <main className="auth">
        <section className="auth-card" aria-labelledby="reset-title">
          <h1 className="brand brand-large">TaskFlow</h1>
          <h2 id="reset-title">This link no longer works</h2>
          <p>It was used, a later one replaced it, or it expired. Ask for a new one: “Forgot your password?” on the sign-in page.</p>
          {back}
        </section>
      </main>
    );
  return (
    <main className="auth">
      <form className="auth-card" onSubmit={form.submit(reset, { leaving: true })} aria-labelledby="reset-title">
        <h1 className="brand brand-large">TaskFlow</h1>
        <h2 id="reset-title">Set a new password</h2>
        <p className="hint">Every session signed in with the old one is signed out.</p>
        <NewPasswordField value={password} onChange={setPassword} />
        <FormError error={form.error} />
        <button type="submit" className="primary" disabled={form.busy}>
          Set password
        </button>
        {back}
      </form>
    </main>
  );
}
