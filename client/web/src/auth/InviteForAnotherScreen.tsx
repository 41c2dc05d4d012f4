import type { Me } from '../app/api.js';
import { navigate } from '../app/router.js';
import { session } from '../app/session.js';
import { ScreenHeading } from '../common/ScreenHeading.js';

/**
 * An invitation link opened while signed in as another account: it says whom the invitation is
 * for and who is signed in, and offers to sign out and go on with it (the link stays in the
 * address bar, so the form opens for the invited address), or to go on to the user's boards.
 */
export function InviteForAnotherScreen({ me, email }: { me: Me; email: string }) {
  return (
    <section className="page narrow">
      <ScreenHeading>An invitation for another account</ScreenHeading>
      <p>
        This invitation is for <strong>{email}</strong>, but you are signed in as <strong>{me.user.email}</strong>.
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => session.signOut()}>
          Sign out and continue with the invitation
        </button>
        <button type="button" onClick={() => navigate('/', { replace: true })}>
          Go to your boards
        </button>
      </div>
    </section>
  );
}

/** On the page for a first org, when an account made from an invitation link is in none: the invitation no longer stood. */
export function InviteGoneNotice() {
  return (
    <p className="auth-reason invite-gone" role="alert">
      That invitation is no longer valid (withdrawn, expired or already used): ask for a new one.
    </p>
  );
}
