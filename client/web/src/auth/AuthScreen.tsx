import { useState } from 'react';
import { api } from '../app/api.js';
import { useCarriedChangeCount } from '../app/carried-changes.js';
import { session, type SignedOutReason, useSignedOutReason } from '../app/session.js';
import { FormError, useFormAction } from '../common/forms.js';
import { ScreenHeading } from '../common/ScreenHeading.js';
import { invitationOfLink, markRegisteredFromInvite } from './invite-link.js';

/** Why the user is at the sign-in form, when they did not sign out themselves. */
const SIGNED_OUT_BECAUSE: Record<SignedOutReason, string> = {
  ended: 'You were signed out: your session was ended (the password was changed, or every session was signed out).',
  expired: 'Your session expired: sign in again.',
};

/**
 * Sign in, create an account, or ask for a password-reset link. An invitation link
 * (`/invite#token=…&email=…`, in the fragment, which no server log sees; links mailed before
 * carried them in the query string) opens on "create account" with the invited email filled in:
 * registering accepts the invitation (and sends its token, which a server where accounts are made
 * by invitation asks for). Signed out by the server, or by a token that ran out, it says so.
 */
export function AuthScreen() {
  const invitation = invitationOfLink();
  const invited = invitation?.email ?? null;
  const inviteToken = invitation?.token;
  const signedOutBecause = useSignedOutReason();
  const waiting = useCarriedChangeCount();
  const [mode, setMode] = useState<'login' | 'register' | 'forgot'>(invited ? 'register' : 'login');
  const [email, setEmail] = useState(invited ?? '');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const form = useFormAction();
  const switchTo = (next: typeof mode) => {
    setMode(next);
    form.clearError();
  };

  if (mode === 'forgot') return <ForgotPassword email={email} onEmail={setEmail} onBack={() => switchTo('login')} />;

  const signIn = async () => {
    const answer = mode === 'login' ? await api.login({ email, password }) : await api.register({ email, password, name, inviteToken });
    // The page it lands on says so if the invitation no longer stood (the account is in no org);
    // an account of another address is told the invitation is not its own.
    if (mode === 'register' && invited?.toLowerCase() === email.trim().toLowerCase()) markRegisteredFromInvite();
    session.signIn(answer.token);
  };

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={form.submit(signIn, { leaving: true })} aria-labelledby="auth-title">
        <h1 className="brand brand-large">TaskFlow</h1>
        <ScreenHeading level={2} id="auth-title">
          {mode === 'login' ? 'Sign in' : 'Create your account'}
        </ScreenHeading>
        {signedOutBecause && (
          <p className="auth-reason" role="status">
            {SIGNED_OUT_BECAUSE[signedOutBecause]}
          </p>
        )}
        {waiting > 0 && (
          <p className="auth-reason" role="status">
            {waiting === 1 ? '1 change you made is' : `${waiting} changes you made are`} not saved yet: they are sent once you sign in
            again, as the same account, in this tab.
          </p>
        )}
        {invited && <p className="hint">Create an account with this email to accept your invitation.</p>}
        {mode === 'register' && (
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" required maxLength={200} />
          </label>
        )}
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            minLength={mode === 'register' ? 8 : undefined}
            required
          />
        </label>
        <FormError error={form.error} />
        <button type="submit" className="primary" disabled={form.busy}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        <button type="button" className="link-button" onClick={() => switchTo(mode === 'login' ? 'register' : 'login')}>
          {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
        </button>
        {mode === 'login' && (
          <button type="button" className="link-button" onClick={() => switchTo('forgot')}>
            Forgot your password?
          </button>
        )}
      </form>
    </main>
  );
}

/** Asks for a reset link to the address: the answer is the same whether it has an account or not. */
function ForgotPassword({ email, onEmail, onBack }: { email: string; onEmail: (email: string) => void; onBack: () => void }) {
  const [mailed, setMailed] = useState(false);
  const form = useFormAction();
  const ask = async () => {
    await api.requestPasswordReset(email);
    setMailed(true);
  };

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={form.submit(ask)} aria-labelledby="forgot-title">
        <h1 className="brand brand-large">TaskFlow</h1>
        <h2 id="forgot-title">Reset your password</h2>
        {mailed ? (
          <p className="hint" role="status">
            If an account has this address, a link to set a new password is on its way. It works once, for an hour.
          </p>
        ) : (
          <>
            <label>
              Email
              <input type="email" value={email} onChange={(e) => onEmail(e.target.value)} autoComplete="email" required />
            </label>
            <FormError error={form.error} />
            <button type="submit" className="primary" disabled={form.busy}>
              Mail me a link
            </button>
          </>
        )}
        <button type="button" className="link-button" onClick={onBack}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}
