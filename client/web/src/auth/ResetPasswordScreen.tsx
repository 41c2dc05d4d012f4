import { type FormEvent, useState } from 'react';
import { api } from '../app/api.js';
import { navigate } from '../app/router.js';
import { session } from '../app/session.js';

/** The page of a mailed reset link (`/reset-password#token=…`, in the fragment, which no server log sees): a new password, which signs in. */
export function ResetPasswordScreen() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.resetPassword({ token, password });
      session.signIn(answer.token);
      navigate('/', { replace: true });
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit} aria-labelledby="reset-title">
        <h1 className="brand brand-large">TaskFlow</h1>
        <h2 id="reset-title">Set a new password</h2>
        <p className="hint">Every session signed in with the old one is signed out.</p>
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
        <button type="submit" className="primary" disabled={busy || !token}>
          Set password
        </button>
        <button type="button" className="link-button" onClick={() => navigate('/')}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}
