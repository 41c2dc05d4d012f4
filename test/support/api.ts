import { randomUUID } from 'node:crypto';
import type { ColumnJson, ProjectJson, UserJson } from '../../shared/wire.js';
import { recordWire } from './wire-recorder.js';

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
}

/** A JSON call to `/api/v1` on the server at `base`. */
export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  extraHeaders: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  recordWire(`HTTP ${method} ${path} → ${response.status}`, text);
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export interface TestUser {
  token: string;
  user: UserJson;
  email: string;
}

export async function registerUser(base: string, name = 'user'): Promise<TestUser> {
  const email = `${name}-${randomUUID().slice(0, 8)}@example.test`;
  const answer = await api(base, 'POST', '/auth/register', { email, password: 'correct horse battery', name });
  if (answer.status !== 201) throw new Error(`register failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { ...answer.body, email };
}

export interface TestOrg {
  slug: string;
  id: string;
  owner: TestUser;
}

export async function createOrg(base: string, owner: TestUser): Promise<TestOrg> {
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const answer = await api(base, 'POST', '/orgs', { name: `Org ${slug}`, slug }, owner.token);
  if (answer.status !== 201) throw new Error(`create org failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { slug, id: answer.body.org.id, owner };
}

export async function addMember(base: string, org: TestOrg, user: TestUser, role: string): Promise<void> {
  const answer = await api(base, 'POST', `/orgs/${org.slug}/invites`, { email: user.email, role }, org.owner.token);
  if (answer.status !== 201) throw new Error(`add member failed: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export async function createProject(base: string, org: TestOrg, name = 'Board'): Promise<{ project: ProjectJson; columns: ColumnJson[] }> {
  const answer = await api(base, 'POST', `/orgs/${org.slug}/projects`, { name }, org.owner.token);
  if (answer.status !== 201) throw new Error(`create project failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}
