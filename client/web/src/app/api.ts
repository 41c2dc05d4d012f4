import type { ApiKeyPermission, Role } from '../../../../shared/roles.js';
import type {
  ApiKeyJson,
  AuditEntryJson,
  ColumnJson,
  InviteJson,
  LabelJson,
  MemberJson,
  OrgJson,
  ProjectJson,
  UserJson,
  WebhookDeliveryJson,
  WebhookJson,
} from '../../../index.js';
import { refusalText } from '../common/refusal-text.js';
import { session } from './session.js';

/** An HTTP refusal, with the code of DESIGN §6. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A JSON call to `/api/v1`, as the signed-in user when there is one (`anonymous`: as no one, for sign-in and the like). */
export async function call<T>(method: string, path: string, body?: unknown, { anonymous = false } = {}): Promise<T> {
  const signedIn = !anonymous && session.token() !== null;
  const headers: Record<string, string> = {};
  const token = signedIn ? await session.freshToken() : null;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    if (response.status === 401 && token) session.ended(token);
    throw new ApiError(response.status, error?.code ?? 'INTERNAL', refusalText(error) ?? response.statusText, error?.details);
  }
  if (method !== 'GET') toldChanged(path);
  return data as T;
}

const ORG_CHANGED = 'taskflow:org-changed';

/** Tells the page that the user changed something of an org (its audit log has a new entry, say). */
function toldChanged(path: string): void {
  const slug = /^\/orgs\/([^/?]+)/.exec(path)?.[1];
  if (slug) window.dispatchEvent(new CustomEvent(ORG_CHANGED, { detail: decodeURIComponent(slug) }));
}

/** Calls `listener` whenever the user changes something of the org `slug` from this page; answers how to stop. */
export function onOrgChanged(slug: string, listener: () => void): () => void {
  const heard = (event: Event) => (event as CustomEvent<string>).detail === slug && listener();
  window.addEventListener(ORG_CHANGED, heard);
  return () => window.removeEventListener(ORG_CHANGED, heard);
}

export interface Membership {
  org: Pick<OrgJson, 'id' | 'slug' | 'name'>;
  role: Role;
}
export interface Me {
  user: UserJson;
  memberships: Membership[];
}
export type InviteOutcome = { member: MemberJson } | { invite: InviteJson };

const ANONYMOUS = { anonymous: true };
const org = (slug: string) => `/orgs/${encodeURIComponent(slug)}`;

/** How many of a webhook's deliveries a page of its log shows. */
export const DELIVERIES_PAGE = 20;

/** The routes of DESIGN §6 the web board uses. */
export const api = {
  register: (input: { email: string; password: string; name: string; inviteToken?: string }) =>
    call<{ token: string; user: UserJson }>('POST', '/auth/register', input, ANONYMOUS),
  login: (input: { email: string; password: string }) => call<{ token: string; user: UserJson }>('POST', '/auth/login', input, ANONYMOUS),
  me: () => call<Me>('GET', '/me'),
  changePassword: (input: { currentPassword: string; password: string }) =>
    call<{ token: string; user: UserJson }>('POST', '/auth/password', input),
  deleteAccount: (password: string) => call<void>('DELETE', '/me', { password }),
  signOutOthers: () => call<{ token: string }>('POST', '/auth/sign-out-others'),
  requestPasswordReset: (email: string) => call<object>('POST', '/auth/password-reset', { email }, ANONYMOUS),
  checkResetLink: (token: string) => call<void>('POST', '/auth/password-reset/check', { token }, ANONYMOUS),
  resetPassword: (input: { token: string; password: string }) =>
    call<{ token: string; user: UserJson }>('POST', '/auth/password-reset/confirm', input, ANONYMOUS),
  createOrg: (input: { name: string; slug?: string }) => call<{ org: OrgJson; role: Role }>('POST', '/orgs', input),
  renameOrg: (slug: string, name: string) => call<OrgJson>('PATCH', org(slug), { name }),
  deleteOrg: (slug: string) => call<void>('DELETE', org(slug)),

  projects: (slug: string) => call<ProjectJson[]>('GET', `${org(slug)}/projects`),
  createProject: (slug: string, input: { name: string; description?: string }) =>
    call<{ project: ProjectJson; columns: ColumnJson[] }>('POST', `${org(slug)}/projects`, input),
  updateProject: (slug: string, projectId: string, patch: { name?: string; description?: string | null; status?: ProjectJson['status'] }) =>
    call<ProjectJson>('PATCH', `${org(slug)}/projects/${projectId}`, patch),

  members: (slug: string) => call<MemberJson[]>('GET', `${org(slug)}/members`),
  changeRole: (slug: string, userId: string, role: Role) => call<MemberJson>('PATCH', `${org(slug)}/members/${userId}`, { role }),
  removeMember: (slug: string, userId: string) => call<void>('DELETE', `${org(slug)}/members/${userId}`),
  invites: (slug: string) => call<InviteJson[]>('GET', `${org(slug)}/invites`),
  invite: (slug: string, input: { email: string; role: Role }) => call<InviteOutcome>('POST', `${org(slug)}/invites`, input),
  revokeInvite: (slug: string, inviteId: string) => call<void>('DELETE', `${org(slug)}/invites/${inviteId}`),

  apiKeys: (slug: string) => call<ApiKeyJson[]>('GET', `${org(slug)}/api-keys`),
  createApiKey: (slug: string, input: { name: string; permissions: ApiKeyPermission[]; expiresAt?: string }) =>
    call<{ apiKey: ApiKeyJson; key: string }>('POST', `${org(slug)}/api-keys`, input),
  revokeApiKey: (slug: string, keyId: string) => call<void>('DELETE', `${org(slug)}/api-keys/${keyId}`),

  webhooks: (slug: string) => call<WebhookJson[]>('GET', `${org(slug)}/webhooks`),
  createWebhook: (slug: string, input: { url: string }) =>
    call<{ webhook: WebhookJson; secret: string }>('POST', `${org(slug)}/webhooks`, input),
  rotateWebhookSecret: (slug: string, webhookId: string) =>
    call<{ webhook: WebhookJson; secret: string }>('POST', `${org(slug)}/webhooks/${webhookId}/rotate-secret`),
  deleteWebhook: (slug: string, webhookId: string) => call<void>('DELETE', `${org(slug)}/webhooks/${webhookId}`),
  /** A page of the webhook's deliveries, newest first: the latest, or those after `before` (the last of a page). */
  deliveries: (slug: string, webhookId: string, before?: string) =>
    call<WebhookDeliveryJson[]>(
      'GET',
      `${org(slug)}/webhooks/${webhookId}/deliveries?limit=${DELIVERIES_PAGE}${before ? `&before=${before}` : ''}`,
    ),
  retryDelivery: (slug: string, webhookId: string, deliveryId: string) =>
    call<WebhookDeliveryJson>('POST', `${org(slug)}/webhooks/${webhookId}/deliveries/${deliveryId}/retry`),

  auditLog: (slug: string, query: { action?: string; cursor?: string }) =>
    call<{ entries: AuditEntryJson[]; nextCursor: string | null }>('GET', `${org(slug)}/audit-log?${new URLSearchParams(query)}`),

  labels: (slug: string) => call<LabelJson[]>('GET', `${org(slug)}/labels`),
  createLabel: (slug: string, input: { name: string; color: string }) => call<LabelJson>('POST', `${org(slug)}/labels`, input),
  updateLabel: (slug: string, labelId: string, patch: { name?: string; color?: string }) =>
    call<LabelJson>('PATCH', `${org(slug)}/labels/${labelId}`, patch),
  deleteLabel: (slug: string, labelId: string) => call<void>('DELETE', `${org(slug)}/labels/${labelId}`),
};
