/**
 * Zod schemas for every HTTP body and socket payload. All objects are strict: a key the schema
 * does not name is refused with VALIDATION_FAILED, so nobody can slip `orgId` or `version` in.
 */
import { z } from 'zod';
import { API_KEY_PERMISSIONS, ROLES } from './roles.js';

/** A string PostgreSQL can store: any text but the NUL character. */
const text = () => z.string().refine((value) => !value.includes('\u0000'), 'must not contain a NUL character');
const holdsNul = (value: unknown): boolean =>
  typeof value === 'string'
    ? value.includes('\u0000')
    : typeof value === 'object' && value !== null && Object.entries(value).some(([key, inner]) => holdsNul(key) || holdsNul(inner));
const id = z.uuid();
const title = text().trim().min(1).max(500);
const description = text().max(20_000).nullable();
const priority = z.number().int().min(0).max(4);
const dueDate = z.iso.date().nullable();
/** A board's `seq` and a task's `version` are PostgreSQL integers: no count goes past this. */
const counter = z
  .number()
  .int()
  .max(2 ** 31 - 1);
const baseVersion = counter.min(1);
const clientMutationId = text().min(1).max(100);
/** A task's labels, as a set: the ids of labels of the task's org. */
const labelIds = z.array(id).max(20);

export const registerBody = z.strictObject({
  email: z.email().max(320),
  password: text().min(8).max(200),
  name: text().trim().min(1).max(200),
});
export const loginBody = z.strictObject({
  email: text().max(320),
  password: text().max(200),
});
export const createOrgBody = z.strictObject({
  name: text().trim().min(1).max(200),
  slug: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'lowercase letters, digits and dashes')
    .optional(),
});
export const inviteBody = z.strictObject({
  email: z.email().max(320),
  role: z.enum(ROLES),
});
export const createProjectBody = z.strictObject({
  name: text().trim().min(1).max(200),
  description: text().max(20_000).optional(),
});
export const updateProjectBody = z
  .strictObject({
    name: text().trim().min(1).max(200).optional(),
    description: text().max(20_000).nullable().optional(),
    status: z.enum(['active', 'archived']).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'the body names no field');

/** `plan` and `billingEmail` are the owner's to change; the rest an admin's. */
export const updateOrgBody = z
  .strictObject({
    name: text().trim().min(1).max(200).optional(),
    settings: z
      .record(z.string(), z.unknown())
      .refine((settings) => !holdsNul(settings), 'must not contain a NUL character')
      .optional(),
    plan: z.enum(['free', 'pro', 'enterprise']).optional(),
    billingEmail: z.email().max(320).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'the body names no field');
export const changeRoleBody = z.strictObject({ role: z.enum(ROLES) });

export const createApiKeyBody = z.strictObject({
  name: text().trim().min(1).max(200),
  permissions: z.array(z.enum(API_KEY_PERMISSIONS)).min(1).max(API_KEY_PERMISSIONS.length),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

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
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const auditLogQuery = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  userId: z.uuid().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: text().max(200).optional(),
});

const taskFields = {
  columnId: id,
  title,
  description: description.optional(),
  priority: priority.optional(),
  assigneeId: id.nullable().optional(),
  dueDate: dueDate.optional(),
  afterId: id.optional(),
  labelIds: labelIds.optional(),
  clientMutationId: clientMutationId.optional(),
};

export const taskPatch = z
  .strictObject({
    title: title.optional(),
    description: description.optional(),
    priority: priority.optional(),
    assigneeId: id.nullable().optional(),
    dueDate: dueDate.optional(),
    labelIds: labelIds.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'patch names no field');

export const boardJoinPayload = z.strictObject({ projectId: id, sinceSeq: counter.min(0).optional() });
export const boardLeavePayload = z.strictObject({ projectId: id });
export const taskCreatePayload = z.strictObject({ projectId: id, ...taskFields });
export const taskUpdatePayload = z.strictObject({
  taskId: id,
  patch: taskPatch,
  baseVersion: baseVersion.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const taskMovePayload = z.strictObject({
  taskId: id,
  columnId: id,
  afterId: id.optional(),
  beforeId: id.optional(),
  baseVersion: baseVersion.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const taskDeletePayload = z.strictObject({
  taskId: id,
  baseVersion: baseVersion.optional(),
  clientMutationId: clientMutationId.optional(),
});

/** HTTP bodies of the task routes: the socket payloads without the ids in the path. */
export const createTaskBody = z.strictObject(taskFields);
export const updateTaskBody = z.strictObject({
  title: title.optional(),
  description: description.optional(),
  priority: priority.optional(),
  assigneeId: id.nullable().optional(),
  dueDate: dueDate.optional(),
  labelIds: labelIds.optional(),
  baseVersion: baseVersion.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const moveTaskBody = taskMovePayload.omit({ taskId: true });
export const deleteTaskBody = taskDeletePayload.omit({ taskId: true });

const columnName = text().trim().min(1).max(200);

export const columnCreatePayload = z.strictObject({
  projectId: id,
  name: columnName,
  isDone: z.boolean().optional(),
  afterId: id.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const columnUpdatePayload = z.strictObject({
  columnId: id,
  patch: z
    .strictObject({ name: columnName.optional(), isDone: z.boolean().optional() })
    .refine((patch) => Object.keys(patch).length > 0, 'patch names no field'),
  clientMutationId: clientMutationId.optional(),
});
export const columnMovePayload = z.strictObject({
  columnId: id,
  afterId: id.optional(),
  beforeId: id.optional(),
  clientMutationId: clientMutationId.optional(),
});
/** A column that holds tasks is deleted only with `moveTasksTo`, another column of the board. */
export const columnDeletePayload = z.strictObject({
  columnId: id,
  moveTasksTo: id.optional(),
  clientMutationId: clientMutationId.optional(),
});

/** Who looks at the board and which task they edit; `editingTaskId` null or absent: none. */
export const presenceUpdatePayload = z.strictObject({ projectId: id, editingTaskId: id.nullable().optional() });

export type BoardJoinPayload = z.infer<typeof boardJoinPayload>;
export type BoardLeavePayload = z.infer<typeof boardLeavePayload>;
export type TaskCreatePayload = z.infer<typeof taskCreatePayload>;
export type TaskUpdatePayload = z.infer<typeof taskUpdatePayload>;
export type TaskMovePayload = z.infer<typeof taskMovePayload>;
export type TaskDeletePayload = z.infer<typeof taskDeletePayload>;
export type TaskPatch = z.infer<typeof taskPatch>;
export type ColumnCreatePayload = z.infer<typeof columnCreatePayload>;
export type ColumnUpdatePayload = z.infer<typeof columnUpdatePayload>;
export type ColumnMovePayload = z.infer<typeof columnMovePayload>;
export type ColumnDeletePayload = z.infer<typeof columnDeletePayload>;
export const createLabelBody = z.strictObject({
  name: text().trim().min(1).max(100),
  color: text().regex(/^#[0-9a-fA-F]{6}$/, 'a colour such as #d73a4a'),
});
export const updateLabelBody = createLabelBody.partial().refine((body) => Object.keys(body).length > 0, 'the body names no field');

export type PresenceUpdatePayload = z.infer<typeof presenceUpdatePayload>;
