import { useCallback, useEffect, useRef, useState } from 'react';
import type { Role } from '../../../../shared/roles.js';
import { type OrgEventJson, TaskFlowError } from '../../../index.js';
import { AccountScreen } from '../auth/AccountScreen.js';
import { AuthScreen } from '../auth/AuthScreen.js';
import { invitationOfLink, takeRegisteredFromInvite } from '../auth/invite-link.js';
import { InviteForAnotherScreen, InviteGoneNotice } from '../auth/InviteForAnotherScreen.js';
import { ResetPasswordScreen } from '../auth/ResetPasswordScreen.js';
import { BoardScreen } from '../board/BoardScreen.js';
import { ErrorState } from '../common/ErrorState.js';
import { notify } from '../common/notices.js';
import { Notices } from '../common/NoticeList.js';
import { Header } from '../layout/Header.js';
import { CreateOrgScreen } from '../orgs/CreateOrgScreen.js';
import { MembersScreen } from '../orgs/MembersScreen.js';
import { ProjectsScreen } from '../projects/ProjectsScreen.js';
import { SettingsScreen } from '../settings/SettingsScreen.js';
import { api, type Me } from './api.js';
import { useLeaveGuard } from './leave-guard.js';
import { useConnectionState, useLiveClient } from './live.js';
import { Link, matchRoute, navigate, paths, type Route, usePath } from './router.js';
import { useSignedInUserId } from './session.js';
import { useResource } from './use-resource.js';

const LAST_ORG = 'taskflow.lastOrg';
/** `org:event`s that change someone's memberships (DESIGN §7). */
export function App() {
  const userId = useSignedInUserId();
  // A reset link opens its own page, whoever is signed in: setting the password signs in as its account.
  const resetting = matchRoute(usePath()).name === 'reset-password';
  return (
    <>
      {resetting ? <ResetPasswordScreen /> : userId ? <SignedIn userId={userId} /> : <AuthScreen />}
      <Notices />
    </>
  );
}

function SignedIn({ userId }: { userId: string }) {
  const path = usePath();
  const route = matchRoute(path);
  const loaded = useResource(`me:${userId}`, () => api.me());
  // Read again after creating an org, so that the new org's page finds it at once, and when the
  // user's own memberships change (see below).
  const [reread, setReread] = useState<{ userId: string; me: Me } | null>(null);
  const me = reread?.userId === userId ? reread.me : loaded.data;
  // An invitation link opened while signed in as another account: its page, not the user's boards.
  const invitedElsewhere = route.name === 'invite' && me ? inviteForAnother(me) : null;
  // Made from an invitation link, the account is in no org: the invitation no longer stood.
  const [inviteGone, setInviteGone] = useState(false);
  const client = useLiveClient(userId);
  useLeaveGuard(client);
  const state = useConnectionState(client);
  const slug = 'slug' in route ? route.slug : null;
  const reads = useRef(0);
  const latestRead = useRef<Promise<void>>(Promise.resolve());
  // Resolves once the memberships shown are read after the call: a later read wins, whichever
  // answers first, and an earlier one waits for it (leaving an org goes on once it is gone).
  const reloadMe = useCallback((): Promise<void> => {
    const read = ++reads.current;
    const shown = api.me().then((fresh) => {
      if (read === reads.current) setReread({ userId, me: fresh });
      else return latestRead.current;
    });
    latestRead.current = shown;
    return shown;
  }, [userId]);

  const nameOfOrg = useRef((orgId: string) => orgId);
  nameOfOrg.current = (orgId) => me?.memberships.find((membership) => membership.org.id === orgId)?.org.name ?? 'an organization';

  // The user's role decides what every screen offers (a viewer's board is read-only), and their
  // orgs fill the switcher: both are read again when an admin changes them, while the page is open.
  useEffect(() => {
    if (!client) return;
    const again = () => void reloadMe().catch(() => undefined); // what is shown stays until a read succeeds
    const offs = [
      client.on('org', (event) => {
        if (memberIdOf(event) !== userId) return;
        again();
        if (event.type === 'member.role_changed') notify(roleNotice(nameOfOrg.current(event.orgId), event.data.role), 'info');
      }),
      // Removed from an org: the kick may come before the org's `member.removed`, which then never reaches us.
      // Sessions ended (a password changed, here or elsewhere): the read signs out a token that was ended.
      client.on('revoked', ({ orgId, reason }) => (orgId || reason === 'signed_out') && again()),
      // A token refused at a reconnect (its session ended while this tab was away): the read signs it out.
      client.on('error', (failure) => failure instanceof TaskFlowError && failure.code === 'UNAUTHORIZED' && again()),
    ];
    return () => offs.forEach((off) => off());
  }, [client, userId, reloadMe]);

  useEffect(() => {
    if (slug && me?.memberships.some((m) => m.org.slug === slug)) localStorage.setItem(LAST_ORG, slug);
  }, [slug, me]);

  // Where "/" (and an accepted invitation) leads: the last org used, the first one, or creating one.
  useEffect(() => {
    if (!me || (route.name !== 'home' && route.name !== 'invite') || invitedElsewhere) return;
    const fromInvite = route.name === 'invite' && takeRegisteredFromInvite(); // taken either way: it speaks of this landing only
    if (fromInvite && me.memberships.length === 0) setInviteGone(true);
    const last = me.memberships.find((m) => m.org.slug === localStorage.getItem(LAST_ORG)) ?? me.memberships[0];
    navigate(last ? paths.projects(last.org.slug) : paths.newOrg(), { replace: true });
  }, [me, route.name, invitedElsewhere]);

  if (loaded.error) return <ErrorState title="Could not load your account">{loaded.error.message}</ErrorState>;
  if (!me) return <p className="page hint">Loading…</p>;

  return (
    <>
      <Header me={me} slug={slug && me.memberships.some((m) => m.org.slug === slug) ? slug : null} state={state} />
      <main className="app-main" id="main" tabIndex={-1}>
        {invitedElsewhere ? (
          <InviteForAnotherScreen me={me} email={invitedElsewhere} />
        ) : (
          <>
            {inviteGone && route.name === 'new-org' && me.memberships.length === 0 && <InviteGoneNotice />}
            <Screen route={route} me={me} userId={userId} client={client} reloadMe={reloadMe} />
          </>
        )}
      </main>
    </>
  );
}

function Screen({
  route,
  me,
  userId,
  client,
  reloadMe,
}: {
  route: Route;
  me: Me;
  userId: string;
  client: ReturnType<typeof useLiveClient>;
  reloadMe: () => Promise<void>;
}) {
  // A reset link's page is App's own, whoever is signed in.
  if (route.name === 'home' || route.name === 'invite' || route.name === 'reset-password') return null;
  if (route.name === 'new-org') return <CreateOrgScreen first={me.memberships.length === 0} onCreated={reloadMe} />;
  if (route.name === 'account') return <AccountScreen me={me} />;
  if (route.name === 'not-found') return <NotFound />;
  const membership = me.memberships.find((m) => m.org.slug === route.slug);
  if (!membership) {
    return (
      <ErrorState title="You cannot open this organization">
        <p>It does not exist, or you are not a member of it.</p>
        <Link to="/">Back to your boards</Link>
      </ErrorState>
    );
  }
  if (route.name === 'projects') return <ProjectsScreen key={route.slug} membership={membership} client={client} />;
  if (route.name === 'members') return <MembersScreen key={route.slug} membership={membership} userId={userId} client={client} />;
  if (route.name === 'settings') return <SettingsScreen key={route.slug} membership={membership} userId={userId} reloadMe={reloadMe} />;
  return <BoardScreen key={route.projectId} client={client} membership={membership} me={me} projectId={route.projectId} />;
}

/** The address an invitation link opened is for, when it is not the signed-in user's. */
function inviteForAnother(me: Me): string | null {
  const email = invitationOfLink()?.email;
  return email && email.trim().toLowerCase() !== me.user.email.toLowerCase() ? email : null;
}

/** What the user is told when an admin changes their role: what it now lets them do, where it narrows. */
function roleNotice(orgName: string, role: Role): string {
  const now = `Your role in ${orgName} is now ${role}`;
  return role === 'viewer' ? `${now}: you can read its boards, not change them.` : `${now}.`;
}

/** The user an org event's `data` is about: `{userId}` (role changed, removed) or `{member}` (added). */
function memberIdOf(event: OrgEventJson): string | undefined {
  if (event.type === 'member.added') return event.data.member.user.id;
  if (event.type === 'member.removed' || event.type === 'member.role_changed') return event.data.userId;
  return undefined;
}

function NotFound() {
  return (
    <ErrorState title="Nothing here">
      <Link to="/">Back to your boards</Link>
    </ErrorState>
  );
}
