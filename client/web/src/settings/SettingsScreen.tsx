import { roleCan } from '../../../../shared/roles.js';
import type { Membership } from '../app/api.js';
import { ScreenHeading } from '../common/ScreenHeading.js';
import { ApiKeysSection } from './ApiKeysSection.js';
import { AuditLogSection } from './AuditLogSection.js';
import { DeleteOrgSection, LeaveOrgSection } from './LeavingSections.js';
import { OrgNameForm } from './OrgNameForm.js';
import { WebhooksSection } from './WebhooksSection.js';

/**
 * An org's settings: its name, its bots' API keys, its webhooks and its audit log for admins; leaving it for
 * everyone; deleting it for its owners. What the server refuses (the last owner leaving, say) is
 * said where it was asked.
 */
export function SettingsScreen({
  membership,
  userId,
  reloadMe,
}: {
  membership: Membership;
  userId: string;
  reloadMe: () => Promise<void>;
}) {
  const { slug } = membership.org;
  const isAdmin = roleCan(membership.role, 'org:admin');
  return (
    <section className="page">
      <ScreenHeading>{`Settings of ${membership.org.name}`}</ScreenHeading>
      {isAdmin && <OrgNameForm slug={slug} name={membership.org.name} onRenamed={reloadMe} />}
      {isAdmin && <ApiKeysSection slug={slug} />}
      {isAdmin && <WebhooksSection slug={slug} />}
      {isAdmin && <AuditLogSection slug={slug} />}
      <LeaveOrgSection membership={membership} userId={userId} reloadMe={reloadMe} />
      {roleCan(membership.role, 'org:own') && <DeleteOrgSection membership={membership} reloadMe={reloadMe} />}
    </section>
  );
}
