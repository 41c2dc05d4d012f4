import { useMemo } from 'react';
import { roleCan } from '../../../../shared/roles.js';
import { api, type Membership } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { ScreenHeading } from '../common/ScreenHeading.js';
import { ApiKeysSection } from './ApiKeysSection.js';
import { AuditLogSection } from './AuditLogSection.js';
import { LabelsSection } from './LabelsSection.js';
import { DeleteOrgSection, LeaveOrgSection } from './LeavingSections.js';
import type { NameOf } from './name-of.js';
import { OrgNameForm } from './OrgNameForm.js';
import { WebhooksSection } from './WebhooksSection.js';

/**
 * An org's settings: its name, its bots' API keys, its webhooks and its audit log for admins; its
 * labels for members (viewers see them); leaving it for everyone; deleting it for its owners. What the server refuses (the last owner leaving, say) is
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
      {isAdmin && <AdminSections slug={slug} name={membership.org.name} reloadMe={reloadMe} />}
      <LabelsSection slug={slug} canEdit={roleCan(membership.role, 'tasks:write')} />
      <LeaveOrgSection membership={membership} userId={userId} reloadMe={reloadMe} />
      {roleCan(membership.role, 'org:own') && <DeleteOrgSection membership={membership} reloadMe={reloadMe} />}
    </section>
  );
}

function AdminSections({ slug, name, reloadMe }: { slug: string; name: string; reloadMe: () => Promise<void> }) {
  const members = useResource(`members:${slug}`, () => api.members(slug));
  const nameOf: NameOf = useMemo(() => {
    if (!members.data) return () => '…';
    const names = new Map(members.data.map((member) => [member.user.id, member.user.name]));
    return (userId: string) => names.get(userId) ?? 'a former member';
  }, [members.data]);
  return (
    <>
      <OrgNameForm slug={slug} name={name} onRenamed={reloadMe} />
      <ApiKeysSection slug={slug} nameOf={nameOf} />
      <WebhooksSection slug={slug} />
      <AuditLogSection slug={slug} nameOf={nameOf} />
    </>
  );
}
