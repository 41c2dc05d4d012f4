/** The JSON objects of the wire contract (DESIGN §3): camelCase, relations as ids. */
import type { Role } from './roles.js';

export interface UserJson {
  id: string;
  email: string;
  name: string;
  avatarUrl: string | null;
}

export type Plan = 'free' | 'pro' | 'enterprise';

export interface OrgJson {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
}

/** An org as a refusal or a list names it: what its members know it by. */
export type OrgName = Pick<OrgJson, 'slug' | 'name'>;

/** What admins and owners see of their org. */
export interface OrgAdminJson extends OrgJson {
  settings: Record<string, unknown>;
  billingEmail: string | null;
}

export interface InviteJson {
  id: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

export interface ApiKeyJson {
  id: string;
  name: string;
  prefix: string;
  permissions: string[];
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface WebhookJson {
  id: string;
  url: string;
  /** The event types it is sent; null for all. */
  events: BoardEventType[] | null;
  createdBy: string | null;
  createdAt: string;
}

/** One board event for one webhook, and how sending it went (its body is not shown again). */
export interface WebhookDeliveryJson {
  id: string;
  projectId: string;
  seq: number;
  eventType: BoardEventType;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The receiver's HTTP status at the last try; null when none came (a timeout, a refused connection). */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  /** When the next try is due, while it is pending. */
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/** What the audit log records (DESIGN §6, and the webhooks' three). */
export const AUDIT_ACTIONS = [
  'org.created',
  'org.updated',
  'org.deleted',
  'member.added',
  'member.invited',
  'member.role_changed',
  'member.removed',
  'member.left',
  'invite.revoked',
  'api_key.created',
  'api_key.revoked',
  'project.created',
  'project.updated',
  'project.archived',
  'webhook.created',
  'webhook.deleted',
  'webhook.secret_rotated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntryJson {
  id: string;
  actor: Actor;
  action: string;
  entityType: string;
  entityId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
}

export interface MemberJson {
  user: { id: string; email: string; name: string };
  role: Role;
  joinedAt: string | null;
}

export interface ProjectJson {
  id: string;
  orgId: string;
  name: string;
  description: string | null;
  status: 'active' | 'archived';
  seq: number;
}

export interface ColumnJson {
  id: string;
  projectId: string;
  name: string;
  position: string;
  isDone: boolean;
}

export interface TaskJson {
  id: string;
  projectId: string;
  columnId: string;
  title: string;
  description: string | null;
  priority: number;
  assigneeId: string | null;
  dueDate: string | null;
  position: string;
  version: number;
  labelIds: string[];
  /** The user who created the task; null for a bot's task or a deleted account. */
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface BoardSnapshot {
  project: ProjectJson;
  columns: ColumnJson[];
  tasks: TaskJson[];
  seq: number;
}

export const BOARD_EVENT_TYPES = [
  'task.created',
  'task.updated',
  'task.moved',
  'task.deleted',
  'column.created',
  'column.updated',
  'column.moved',
  'column.deleted',
  'project.updated',
] as const;
export type BoardEventType = (typeof BOARD_EVENT_TYPES)[number];

export interface Actor {
  kind: 'user' | 'bot';
  id: string;
  name: string;
}

/** A field a task event lists as `changed`; `completedAt` changes only with a move into or out of a done column. */
export type TaskField =
  'title' | 'description' | 'priority' | 'assigneeId' | 'dueDate' | 'columnId' | 'position' | 'labelIds' | 'completedAt';

export interface BoardEventJson<Data = unknown> {
  projectId: string;
  seq: number;
  type: BoardEventType;
  actor: Actor;
  data: Data;
  clientMutationId: string | null;
  at: string;
}

export type TaskEventData = { task: TaskJson; changed: TaskField[] };
export type TaskDeletedData = { taskId: string };
export type ColumnField = 'name' | 'isDone' | 'position';
/** `tasks`, on `column.deleted`, are the column's tasks as they stand after moving to `moveTasksTo`. */
export type ColumnEventData = { column: ColumnJson; changed?: ColumnField[]; tasks?: TaskJson[] };

/** The data of each type of board event. */
export interface BoardEventDataOf {
  'task.created': TaskEventData;
  'task.updated': TaskEventData;
  'task.moved': TaskEventData;
  'task.deleted': TaskDeletedData;
  'column.created': ColumnEventData;
  'column.updated': ColumnEventData;
  'column.moved': ColumnEventData;
  'column.deleted': ColumnEventData;
  'project.updated': { project: ProjectJson };
}

/** A board event whose `data` its `type` tells: checking `event.type` narrows `event.data`. */
export type BoardEvent = { [T in BoardEventType]: BoardEventJson<BoardEventDataOf[T]> & { type: T } }[BoardEventType];

export interface LabelJson {
  id: string;
  name: string;
  color: string;
}

/** One person or bot on a board, with the task they are editing, if any. */
export type Viewer = Actor & { editingTaskId?: string };

/** What `org:event` tells an org's member sockets (DESIGN §7), its `data` by its `type`. */
export type OrgEventJson =
  | { orgId: string; type: 'member.added'; data: { member: MemberJson } }
  | { orgId: string; type: 'member.removed'; data: { userId: string } }
  | { orgId: string; type: 'member.role_changed'; data: { userId: string; role: Role } }
  | { orgId: string; type: 'project.created'; data: { project: ProjectJson } }
  | { orgId: string; type: 'project.archived'; data: { project: ProjectJson } };
export type OrgEventType = OrgEventJson['type'];
