import { useState } from 'react';
import { api } from '../app/api.js';
import { navigate } from '../app/router.js';
import { session } from '../app/session.js';
import { FormError, NewPasswordField, useFormAction } from '../common/forms.js';

/** The page of a mailed reset link (`/reset-password#token=…`, in the fragment, which no server log sees): a new password, which signs in. */
export function ResetPasswordScreen() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [password, setPassword] = useState('');
  const form = useFormAction();

  const reset = async () => {
    session.signIn((await api.resetPassword({ token, password })).token);
    navigate('/', { replace: true });
  };

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={form.submit(reset, { leaving: true })} aria-labelledby="reset-title">
        <h1 className="brand brand-large">TaskFlow</h1>
        <h2 id="reset-title">Set a new password</h2>
        <p className="hint">Every session signed in with the old one is signed out.</p>
        <NewPasswordField value={password} onChange={setPassword} />
        <FormError error={form.error} />
        <button type="submit" className="primary" disabled={form.busy || !token}>
          Set password
        </button>
        <button type="button" className="link-button" onClick={() => navigate('/')}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}
