import { useEffect, useState } from 'react';
import { ROLES, type Role, roleCan } from '../../../../shared/roles.js';
import type { MemberJson, TaskFlowClient } from '../../../index.js';
import { api, type Membership } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { Avatar } from '../common/Avatar.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { focusById } from '../common/focus.js';
import { ErrorState } from '../common/ErrorState.js';
import { notify } from '../common/notices.js';
import { InviteForm } from './InviteForm.js';
import { PendingInvites } from './PendingInvites.js';
import { ScreenHeading } from '../common/ScreenHeading.js';
import { DataTable } from '../common/DataTable.js';

/** The org's members; admins change roles, remove members and invite people. */
export function MembersScreen({ membership, userId, client }: { membership: Membership; userId: string; client: TaskFlowClient | null }) {
  const { slug, id: orgId } = membership.org;
  const isAdmin = roleCan(membership.role, 'members:manage');
  const members = useResource(`members:${slug}`, () => api.members(slug));
  const { reload } = members;
  const [invitesVersion, setInvitesVersion] = useState(0);

  useEffect(
    () =>
      client?.on('org', (event) => {
        if (event.orgId !== orgId || !event.type.startsWith('member.')) return;
        reload();
        // Someone who joins by an invitation's link takes it off the pending list.
        if (event.type === 'member.added') setInvitesVersion((n) => n + 1);
      }),
    [client, orgId, reload],
  );

  if (members.error) return <ErrorState title="Could not load the members">{members.error.message}</ErrorState>;

  async function act(what: string, action: () => Promise<unknown>) {
    try {
      await action();
      reload();
    } catch (failure) {
      notify(`${what}: ${(failure as Error).message}`);
    }
  }

  return (
    <section className="page">
      <ScreenHeading id="members-title">{`Members of ${membership.org.name}`}</ScreenHeading>
      <DataTable label="Members" columns={['Member', 'Role']} actions>
        {(members.data ?? []).map((member) => (
          <MemberRow
            key={member.user.id}
            member={member}
            manage={isAdmin && member.user.id !== userId && (member.role !== 'owner' || membership.role === 'owner')}
            grantable={grantableRoles(membership.role)}
            onRole={(role) =>
              act('Could not change the role', async () => {
                await api.changeRole(slug, member.user.id, role);
                notify(`${member.user.name} is now ${role}.`, 'info');
              })
            }
            onRemove={async () => {
              await act('Could not remove the member', () => api.removeMember(slug, member.user.id));
              focusById('members-title'); // the row goes, or a notice says why not
            }}
          />
        ))}
      </DataTable>
      {isAdmin && (
        <>
          <InviteForm slug={slug} roles={grantableRoles(membership.role)} onInvited={() => (reload(), setInvitesVersion((n) => n + 1))} />
          <PendingInvites slug={slug} version={invitesVersion} />
        </>
      )}
    </section>
  );
}

/** Only an owner may grant `owner`. */
function grantableRoles(role: Role): Role[] {
  return ROLES.filter((r) => r !== 'owner' || role === 'owner');
}

/**
 * A member's row. A new role is picked in the list, then applied with its button: a list that
 * applied on change would grant each role a keyboard user passes over with the arrow keys, owner
 * included. Removing asks once more.
 */
function MemberRow(props: { member: MemberJson; manage: boolean; grantable: Role[]; onRole(role: Role): void; onRemove(): Promise<void> }) {
  const { member, manage } = props;
  const name = member.user.name;
  const [chosen, setChosen] = useState<Role>(member.role);
  useEffect(() => setChosen(member.role), [member.role]);
  return (
    <tr>
      <td>
        <span className="member">
          <Avatar id={member.user.id} name={member.user.name} size="sm" />
          <span>
            {member.user.name} <span className="hint">{member.user.email}</span>
          </span>
        </span>
      </td>
      <td>
        {manage ? (
          <span className="row">
            <select aria-label={`Role of ${name}`} value={chosen} onChange={(e) => setChosen(e.target.value as Role)}>
              {props.grantable.map((role) => (
                <option key={role} value={role}>
                  {role}
                </option>
              ))}
            </select>
            {chosen !== member.role && (
              <button type="button" aria-label={`Apply: make ${name} ${chosen}`} onClick={() => props.onRole(chosen)}>
                Apply
              </button>
            )}
          </span>
        ) : (
          <span className={`role role-${member.role}`}>{member.role}</span>
        )}
      </td>
      <td>
        {manage && (
          <ConfirmButton label="Remove" ariaLabel={`Remove ${name}`} confirmLabel={`Really remove ${name}`} onConfirm={props.onRemove} />
        )}
      </td>
    </tr>
  );
}
