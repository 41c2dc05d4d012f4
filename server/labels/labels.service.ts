import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { LabelJson } from '../../shared/wire.js';
import type { Caller } from '../auth/caller.js';
import type { AppContext } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { withOrg } from '../orgs/org-scope.js';
import { updateTask } from '../tasks/tasks.service.js';
import { type ILabel, Label } from './label.entity.js';
import { TaskLabel } from './task-label.entity.js';

export function listLabels(ctx: AppContext, caller: Caller, slug: string): Promise<LabelJson[]> {
  return withOrg(ctx, caller.principal, slug, 'board:read', async ({ em }) => {
    const labels = await em.find(Label, {}, { orderBy: { name: 'asc' } });
    return labels.map(toLabelJson);
  });
}

export function createLabel(ctx: AppContext, caller: Caller, slug: string, input: { name: string; color: string }): Promise<LabelJson> {
  return uniqueName(() =>
    withOrg(ctx, caller.principal, slug, 'tasks:write', async ({ em, org }) => {
      const label = em.create(Label, { org, name: input.name, color: input.color.toLowerCase() });
      await em.flush();
      return toLabelJson(label);
    }),
  );
}

/** Renames or recolours a label. Tasks carry label ids, so their boards need no event. */
export function updateLabel(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  labelId: string,
  input: { name?: string; color?: string },
): Promise<LabelJson> {
  return uniqueName(() =>
    withOrg(ctx, caller.principal, slug, 'tasks:write', async ({ em }) => {
      const label = await em.findOne(Label, { id: labelId });
      if (!label) throw notFound('label');
      if (input.name !== undefined) label.name = input.name;
      if (input.color !== undefined) label.color = input.color.toLowerCase();
      await em.flush();
      return toLabelJson(label);
    }),
  );
}

/**
 * Deletes a label. Each task that carries it first loses it through the ordinary task update,
 * so every board hears a `task.updated` for each such task.
 */
export async function deleteLabel(ctx: AppContext, caller: Caller, slug: string, labelId: string): Promise<void> {
  const carriers = await withOrg(ctx, caller.principal, slug, 'tasks:write', async ({ em }) => {
    if (!(await em.count(Label, { id: labelId }))) throw notFound('label');
    const links = await em.find(TaskLabel, { label: labelId }, { populate: ['task.taskLabels'] });
    return links.map((link) => ({
      taskId: link.task.id,
      labelIds: link.task.taskLabels.map((l) => l.label.id).filter((id) => id !== labelId),
    }));
  });
  for (const { taskId, labelIds } of carriers) {
    await updateTask(ctx, caller, { taskId, patch: { labelIds } }).catch((error: unknown) => {
      if (!(error instanceof Error && 'code' in error && error.code === 'NOT_FOUND')) throw error; // deleted meanwhile
    });
  }
  await withOrg(ctx, caller.principal, slug, 'tasks:write', async ({ em }) => {
    await em.nativeDelete(Label, { id: labelId });
  });
}

async function uniqueName<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict('a label with this name exists');
    throw error;
  }
}

function toLabelJson(label: ILabel): LabelJson {
  return { id: label.id, name: label.name, color: label.color };
}
