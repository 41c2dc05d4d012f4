import type { ConnectionState } from '../../../index.js';
import type { Me } from '../app/api.js';
import { Link, paths } from '../app/router.js';
import { session } from '../app/session.js';
import { Avatar } from '../common/Avatar.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import { OrgSwitcher } from './OrgSwitcher.js';

/** The top bar: organization, its sections, the connection state and the signed-in user. */
export function Header({ me, slug, state }: { me: Me; slug: string | null; state: ConnectionState }) {
  return (
    <header className="app-header">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Link to="/" className="brand">
        TaskFlow
      </Link>
      <OrgSwitcher memberships={me.memberships} current={slug} />
      {slug && (
        <nav className="app-nav" aria-label="Sections">
          <Link to={paths.projects(slug)}>Projects</Link>
          <Link to={paths.members(slug)}>Members</Link>
          <Link to={paths.settings(slug)}>Settings</Link>
        </nav>
      )}
      <div className="header-end">
        <ConnectionBadge state={state} />
        <Link to={paths.account()} className="me" title="Your account">
          <Avatar id={me.user.id} name={me.user.name} size="sm" decorative />
          <span className="me-name">{me.user.name}</span>
          <span className="visually-hidden">, your account</span>
        </Link>
        <button type="button" className="link-button" onClick={() => session.signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}
