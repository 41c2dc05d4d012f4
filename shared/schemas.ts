/**
 * Zod schemas for every HTTP body and socket payload. All objects are strict: a key the schema
 * does not name is refused with VALIDATION_FAILED, so nobody can slip `orgId` or `version` in.
 */
import { z } from 'zod';
import { labelName, showsSomething } from './shown-text.js';
import { API_KEY_PERMISSIONS, ROLES } from './roles.js';
import { AUDIT_ACTIONS, BOARD_EVENT_TYPES } from './wire.js';

/**
 * Whether PostgreSQL can store the string as text and in JSON: not the NUL character, and no half
 * of a UTF-16 surrogate pair without the other (JSON.stringify writes one as `\ud800`, which jsonb
 * refuses, and the driver would store it as U+FFFD, so that two different strings came back equal).
 */
export const storable = (value: string) => !value.includes('\u0000') && !/\p{Surrogate}/u.test(value);
const NOT_STORABLE = 'must not contain a NUL character or half of a surrogate pair';
/** A string PostgreSQL can store (`storable`). */
const text = () => z.string().refine(storable, NOT_STORABLE);
const SHOWS_NOTHING = 'must have a character that shows, not only spaces or invisible ones';
/** A title or a name: trimmed, and not empty nor made only of characters that show nothing (one issue for either). */
const shownText = (most: number) => text().trim().max(most).refine(showsSomething, SHOWS_NOTHING);
/** The most levels of nesting a JSON value of a body may have. */
const MOST_JSON_DEPTH = 32;
/**
 * Whether every key and string in a parsed JSON value is `storable`, and every number finite (JSON
 * text may write `1e400`, which parses to Infinity and would be stored as null), within
 * `MOST_JSON_DEPTH` levels.
 */
function storableJson(root: unknown): boolean {
  const pending: Array<[unknown, number]> = [[root, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value === 'string' && !storable(value)) return false;
    if (typeof value === 'number' && !Number.isFinite(value)) return false;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MOST_JSON_DEPTH) return false;
    for (const [key, inner] of Object.entries(value)) {
      if (!storable(key)) return false;
      pending.push([inner, depth + 1]);
    }
  }
  return true;
}
/** A calendar date PostgreSQL can store: years 0001 to 9999 (it has no year 0). */
const calendarDate = () => z.iso.date().refine((value) => value >= '0001-01-01', 'must be in the years 0001 to 9999');
/** A moment with its offset, within the years 0001 to 9999 in UTC (an offset can push 9999-12-31 into 10000). */
const instant = () =>
  z.iso.datetime({ offset: true }).refine((value) => inStorableYears(Date.parse(value)), 'must be in the years 0001 to 9999 (UTC)');
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
/** Whether a time (ms since the epoch) is in the years 0001 to 9999 (UTC), the ones PostgreSQL and ISO 8601's plain form both write. */
export function inStorableYears(time: number): boolean {
  return time >= FIRST_INSTANT && time <= LAST_INSTANT;
}
/** A UUID, spelt as PostgreSQL answers it (lower case), so that ids compare, and rooms are named, one way: in payloads, bodies and paths. */
export const entityId = z.uuid().transform((value) => value.toLowerCase());
const id = entityId;
const title = shownText(500);
/**
 * A card's or a board's longer text, kept as written (not trimmed), but for a byte-order mark at
 * its start (text pasted from a file): invisible, and the embedded database's driver drops it on
 * reading, so that a snapshot would differ from the change's event and every save of the same
 * text would be a change.
 */
const description = text()
  .max(20_000)
  .transform((value) => value.replace(/^\uFEFF/, ''))
  .nullable();
const priority = z.number().int().min(0).max(4);
const dueDate = calendarDate().nullable();
/** A board's `seq` and a task's `version` are PostgreSQL integers: no count goes past this. */
const counter = z
  .number()
  .int()
  .max(2 ** 31 - 1);
const baseVersion = counter.min(1);
const clientMutationId = text().min(1).max(100);
/** A task's labels, as a set: the ids of labels of the task's org. */
const labelIds = z.array(id).max(20);

/** An email address, without the spaces a phone's keyboard adds around it. */
const email = () => z.string().trim().pipe(z.email().max(320));

/** A password to set: 8 to 200 characters. */
const newPassword = text().min(8).max(200);

/** The body of a route that takes none: none, or `{}`. One that names a key is refused, never silently ignored (DESIGN §6). */
export const noBody = z.strictObject({}).nullish();

export const registerBody = z.strictObject({
  email: email(),
  password: newPassword,
  name: shownText(200),
  /** The token of an invitation's link: with REGISTRATION=invited, what lets an invited address register. */
  inviteToken: text().min(1).max(200).optional(),
});
export const loginBody = z.strictObject({
  email: text().trim().max(320),
  password: text().max(200),
});
export const changePasswordBody = z.strictObject({
  currentPassword: text().max(200),
  password: newPassword,
});
export const deleteAccountBody = z.strictObject({ password: text().max(200) });
export const passwordResetBody = z.strictObject({
  email: email(),
});
export const resetLinkBody = z.strictObject({
  /** The token of the mailed link. */
  token: text().min(1).max(200),
});
export const resetPasswordBody = resetLinkBody.extend({
  password: newPassword,
});
export const createOrgBody = z.strictObject({
  name: shownText(200),
  slug: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'lowercase letters, digits and dashes')
    .optional(),
});
export const inviteBody = z.strictObject({
  email: email(),
  role: z.enum(ROLES),
});
export const createProjectBody = z.strictObject({
  name: shownText(200),
  description: description.optional(),
});
export const updateProjectBody = z
  .strictObject({
    name: shownText(200).optional(),
    description: description.optional(),
    status: z.enum(['active', 'archived']).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'the body names no field');

/** `plan` and `billingEmail` are the owner's to change; the rest an admin's. */
export const updateOrgBody = z
  .strictObject({
    name: shownText(200).optional(),
    settings: z
      .record(z.string(), z.unknown())
      .refine(storableJson, `${NOT_STORABLE}, nor a number past JSON's range, nor nest more than ${MOST_JSON_DEPTH} levels`)
      .optional(),
    plan: z.enum(['free', 'pro', 'enterprise']).optional(),
    billingEmail: email().nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'the body names no field');
export const changeRoleBody = z.strictObject({ role: z.enum(ROLES) });

export const createApiKeyBody = z.strictObject({
  name: shownText(200),
  permissions: z.array(z.enum(API_KEY_PERMISSIONS)).min(1).max(API_KEY_PERMISSIONS.length),
  expiresAt: instant().optional(),
});

/** How many entries a list query answers, 1 to 200 (50 unless asked): decimal digits only, as `Number()` would also read `0x10`, `1e1` or ` 16 `. */
const pageLimit = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'a whole number from 1 to 200')
  .transform(Number)
  .pipe(z.number().min(1).max(200))
  .default(50);

/** A webhook's address: http(s), no credentials in it (they would show in every list of the org's webhooks). */
const webhookUrl = text()
  .max(2000)
  .refine((value) => {
    const url = URL.canParse(value) ? new URL(value) : null;
    return !!url && (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
  }, 'an http:// or https:// URL, without a user name or password in it');

export const createWebhookBody = z.strictObject({
  url: webhookUrl,
  /** The board event types to send; absent for all of them. */
  events: z
    .array(z.enum(BOARD_EVENT_TYPES))
    .min(1)
    .max(BOARD_EVENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, 'each event type once')
    .optional(),
});

export const webhookDeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  limit: pageLimit,
  /** A delivery of the page before: the page after it, in the log's order (older). */
  before: id.optional(),
});

export const auditLogQuery = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  userId: id.optional(),
  since: instant().optional(),
  limit: pageLimit,
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

/** The fields a task update may set. */
const taskPatchFields = {
  title: title.optional(),
  description: description.optional(),
  priority: priority.optional(),
  assigneeId: id.nullable().optional(),
  dueDate: dueDate.optional(),
  labelIds: labelIds.optional(),
};
/** A task's patch. One that names no field changes nothing, and is answered as any such update (DESIGN §7). */
export const taskPatch = z.strictObject(taskPatchFields);

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
/** `task:update`'s patch, flat, beside its `baseVersion` and `clientMutationId`. */
export const updateTaskBody = z.strictObject({
  ...taskPatchFields,
  baseVersion: baseVersion.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const moveTaskBody = taskMovePayload.omit({ taskId: true });
export const deleteTaskBody = taskDeletePayload.omit({ taskId: true });

const columnName = shownText(200);

export const columnCreatePayload = z.strictObject({
  projectId: id,
  name: columnName,
  isDone: z.boolean().optional(),
  afterId: id.optional(),
  clientMutationId: clientMutationId.optional(),
});
export const columnUpdatePayload = z.strictObject({
  columnId: id,
  patch: z.strictObject({ name: columnName.optional(), isDone: z.boolean().optional() }),
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
  // At most 100 characters as stored (`labelName`): a few letters grow in that form.
  name: text().trim().refine(showsSomething, SHOWS_NOTHING).transform(labelName).pipe(z.string().max(100)),
  color: text().regex(/^#[0-9a-fA-F]{6}$/, 'a colour such as #d73a4a'),
});
export const updateLabelBody = createLabelBody.partial().refine((body) => Object.keys(body).length > 0, 'the body names no field');

export type PresenceUpdatePayload = z.infer<typeof presenceUpdatePayload>;
