import type { MemberJson, OrgAdminJson, OrgJson } from '../../shared/wire.js';
import type { IMembership } from './membership.entity.js';
import type { IOrganization } from './organization.entity.js';

export function toOrgJson(org: IOrganization): OrgJson {
  return { id: org.id, slug: org.slug, name: org.name, plan: org.plan };
}

export function toOrgAdminJson(org: IOrganization): OrgAdminJson {
  return { ...toOrgJson(org), settings: org.settings, billingEmail: org.billingEmail ?? null };
}

export function toMemberJson(membership: IMembership): MemberJson {
  const { user } = membership;
  return {
    user: { id: user.id, email: user.email, name: user.name },
    role: membership.role,
    joinedAt: membership.joinedAt?.toISOString() ?? null,
  };
}
