import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskChangeData, TaskDeleteData } from '../../shared/events.js';
import type { TaskCreatePayload, TaskDeletePayload, TaskMovePayload, TaskPatch } from '../../shared/schemas.js';
import type { TaskDeletedData, TaskEventData, TaskField, TaskJson } from '../../shared/wire.js';
import type { Caller } from '../auth/caller.js';
import { actorOf } from '../auth/principal.js';
import { type BoardChangeResult, changeBoard } from '../board/board-change.js';
import { positionIn } from '../board/positions.js';
import { findColumn } from '../columns/find-column.js';
import type { AppContext } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import { Membership } from '../orgs/membership.entity.js';
import { Organization } from '../orgs/organization.entity.js';
import { Column } from '../projects/column.entity.js';
import { Project } from '../projects/project.entity.js';
import { Label } from '../labels/label.entity.js';
import { TaskLabel } from '../labels/task-label.entity.js';
import { userRef } from '../users/user-ref.js';
import { type ITask, Task } from './task.entity.js';
import { plainTaskUpdate } from './task-plain-update.js';
import { bump, putInColumn } from './task-changes.js';
import { toTaskJson } from './task.json.js';
import { EVERY_FIELD, fieldsChangedSince } from './task-history.js';

const ALL_FIELDS: TaskField[] = ['title', 'description', 'priority', 'assigneeId', 'dueDate', 'columnId', 'position'];

export async function createTask(ctx: AppContext, caller: Caller, input: TaskCreatePayload): Promise<TaskChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'project', id: input.projectId },
    'task.created',
    input.clientMutationId,
    async (em, projectId, orgId) => {
      const column = await findColumn(em, projectId, input.columnId);
      const now = new Date();
      const task = em.create(Task, {
        org: em.getReference(Organization, orgId),
        project: em.getReference(Project, projectId),
        column,
        title: input.title,
        description: input.description ?? null,
        priority: input.priority ?? 0,
        assignee: input.assigneeId ? await memberUser(em, input.assigneeId) : null,
        dueDate: input.dueDate ?? null,
        position: await positionIn(em, inColumn(column.id), null, { afterId: input.afterId }),
        createdBy: userRef(em, caller.principal),
        createdAt: now,
        updatedAt: now,
        completedAt: column.isDone ? now : null,
      });
      await em.flush(); // ids and timestamps are assigned on flush
      if (input.labelIds?.length) await setLabels(em, task, input.labelIds);
      return taskEvent(task, ALL_FIELDS);
    },
  );
  return taskAnswer(result);
}

export interface TaskUpdateInput {
  taskId: string;
  patch: TaskPatch;
  baseVersion?: number;
  clientMutationId?: string;
}

export async function updateTask(ctx: AppContext, caller: Caller, input: TaskUpdateInput): Promise<TaskChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'task', id: input.taskId },
    'task.updated',
    input.clientMutationId,
    async (em, projectId) => {
      const task = await findTask(em, projectId, input.taskId);
      const patch = input.patch;
      await refuseConflicts(em, caller, task, input.baseVersion, Object.keys(patch) as TaskField[]);
      const changed: TaskField[] = [];
      const set = <K extends keyof ITask>(field: TaskField, key: K, value: ITask[K]) => {
        if (task[key] === value) return;
        task[key] = value;
        changed.push(field);
      };
      if (patch.title !== undefined) set('title', 'title', patch.title);
      if (patch.description !== undefined) set('description', 'description', patch.description);
      if (patch.priority !== undefined) set('priority', 'priority', patch.priority);
      if (patch.dueDate !== undefined) set('dueDate', 'dueDate', patch.dueDate);
      if (patch.assigneeId !== undefined && patch.assigneeId !== (task.assignee?.id ?? null)) {
        task.assignee = patch.assigneeId ? await memberUser(em, patch.assigneeId) : null;
        changed.push('assigneeId');
      }
      if (patch.labelIds !== undefined && (await setLabels(em, task, patch.labelIds))) changed.push('labelIds');
      if (changed.length === 0) return { unchanged: toTaskJson(task) };
      return taskEvent(bump(task), changed);
    },
    (orgId) => plainTaskUpdate({ orgId, taskId: input.taskId }, input.patch, input.baseVersion),
  );
  return taskAnswer(result);
}

export async function moveTask(ctx: AppContext, caller: Caller, input: TaskMovePayload): Promise<TaskChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'task', id: input.taskId },
    'task.moved',
    input.clientMutationId,
    async (em, projectId) => {
      const task = await findTask(em, projectId, input.taskId);
      await refuseConflicts(em, caller, task, input.baseVersion, ['columnId', 'position']);
      const column = await findColumn(em, projectId, input.columnId);
      const stays = column.id === task.column.id;
      const position = await positionIn(em, inColumn(column.id), { id: task.id, position: stays ? task.position : null }, input);
      if (stays && position === task.position) return { unchanged: toTaskJson(task) };
      const changed: TaskField[] = stays ? ['position'] : ['columnId', 'position'];
      if (!stays) {
        const wasDone = (await em.findOneOrFail(Column, task.column.id, { fields: ['isDone'] })).isDone;
        if (putInColumn(task, column, wasDone)) changed.push('completedAt');
      }
      task.position = position;
      return taskEvent(bump(task), changed);
    },
  );
  return taskAnswer(result);
}

export async function deleteTask(ctx: AppContext, caller: Caller, input: TaskDeletePayload): Promise<TaskDeleteData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'task', id: input.taskId },
    'task.deleted',
    input.clientMutationId,
    async (em, projectId) => {
      const task = await findTask(em, projectId, input.taskId);
      await refuseConflicts(em, caller, task, input.baseVersion, EVERY_FIELD); // a delete sets every field, as it were
      em.remove(task);
      return { data: { taskId: task.id } satisfies TaskDeletedData };
    },
  );
  return { event: result.event! };
}

function taskEvent(task: ITask, changed: TaskField[]): { data: TaskEventData } {
  return { data: { task: toTaskJson(task), changed } };
}

function taskAnswer(result: BoardChangeResult): TaskChangeData {
  if (result.event) return { task: (result.event.data as TaskEventData).task, event: result.event };
  return { task: result.unchanged as TaskJson, event: null };
}

const inColumn = (columnId: string) => ({ table: 'tasks', scope: 'column_id', scopeId: columnId }) as const;

async function findTask(em: EntityManager, projectId: string, taskId: string): Promise<ITask> {
  const task = await em.findOne(Task, { id: taskId, project: projectId }, { populate: ['taskLabels'], strategy: 'joined' });
  if (!task) throw notFound('task');
  return task;
}

/** Makes the task's labels exactly `labelIds` (labels of its org); answers whether anything changed. */
async function setLabels(em: EntityManager, task: ITask, labelIds: string[]): Promise<boolean> {
  const wanted = new Set(labelIds);
  const current = new Map(task.taskLabels.map((link) => [link.label.id, link]));
  const added = [...wanted].filter((labelId) => !current.has(labelId));
  const removed = [...current.keys()].filter((labelId) => !wanted.has(labelId));
  if (added.length === 0 && removed.length === 0) return false;
  // Read for share: a label being deleted is waited for, and then not found (its links would not hold).
  const labels = added.length ? await em.find(Label, { id: { $in: added } }, { lockMode: LockMode.PESSIMISTIC_READ }) : [];
  if (labels.length !== added.length) throw invalid('labelIds names a label this organization does not have');
  for (const labelId of removed) task.taskLabels.remove(current.get(labelId)!);
  for (const label of labels) task.taskLabels.add(em.create(TaskLabel, { org: task.org, task, label }));
  return true;
}

/** The assignee's user, read through the org's memberships: only members may be assigned. */
async function memberUser(em: EntityManager, userId: string) {
  const membership = await em.findOne(Membership, { user: userId }, { fields: ['user'] });
  if (!membership) throw invalid('the assignee is not a member of this organization');
  return membership.user;
}

/**
 * CONFLICT when a field this change sets was changed by someone other than `caller` after
 * `baseVersion`; VALIDATION_FAILED for a `baseVersion` the task never had (a client that mixed up
 * its tasks, which last writer wins would hide).
 */
async function refuseConflicts(
  em: EntityManager,
  caller: Caller,
  task: ITask,
  baseVersion: number | undefined,
  fields: TaskField[],
): Promise<void> {
  if (baseVersion !== undefined && baseVersion > task.version)
    throw invalid(`baseVersion ${baseVersion} is ahead of the task, at version ${task.version}`);
  if (baseVersion === undefined || task.version <= baseVersion) return;
  const changedSince = await fieldsChangedSince(em, task, baseVersion, actorOf(caller.principal));
  const clashes = fields.filter((field) => changedSince.has(field));
  if (clashes.length > 0)
    throw conflict(`changed by someone else since version ${baseVersion}: ${clashes.join(', ')}`, {
      task: toTaskJson(task),
      fields: clashes,
    });
}
