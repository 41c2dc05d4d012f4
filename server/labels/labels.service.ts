import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { LabelJson } from '../../shared/wire.js';
import type { Caller } from '../auth/caller.js';
import { changeRequest } from '../board/board-change.js';
import type { Logged } from '../board/board-event-order.js';
import { eventOf } from '../board/event-log.js';
import type { AppContext } from '../context.js';
import { sql } from '../db/sql-script.js';
import { standingNow } from '../db/tenant.js';
import { authorize } from '../orgs/access.js';
import { conflict, isUnavailable, notAMember, notFound } from '../errors.js';
import { withOrg } from '../orgs/org-scope.js';
import { type ILabel, Label } from './label.entity.js';
import { takeLabelOffTasks } from './label-removal.js';

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
 * Deletes a label, whole or not at all, in one transaction: each task that carries it loses it,
 * with a `task.updated` event (`labelIds` changed) in its board's log, broadcast after commit.
 * A task on an archived board loses it too, with its event: the label is the org's, and the
 * board's log must keep saying what its tasks carry (no user edit of the board is allowed).
 */
export async function deleteLabel(ctx: AppContext, caller: Caller, slug: string, labelId: string): Promise<void> {
  // Each event, from when its seq is taken: broadcast in the board's order once committed (`BoardEventOrder`).
  const taken: TakenSeqs = { orgId: null, events: [] };
  let committed = false;
  try {
    await deleteLabelLogging(ctx, caller, slug, labelId, taken);
    committed = true;
  } catch (error) {
    // The commit may have gone through with its answer lost: its events are looked for in the log, and sent out if there.
    if (taken.orgId && isUnavailable(error)) ctx.eventOrder.unsureOfAll(taken.orgId, taken.events);
    throw error;
  } finally {
    const { orgId, events } = taken;
    if (orgId) {
      const settled = events.map(({ event }) => ({
        projectId: event.projectId,
        seq: event.seq,
        outgoing: committed ? { orgId, event } : null,
      }));
      ctx.eventOrder.settledAll(orgId, settled);
    }
  }
}

async function deleteLabelLogging(ctx: AppContext, caller: Caller, slug: string, labelId: string, taken: TakenSeqs): Promise<void> {
  await withOrg(
    ctx,
    caller.principal,
    slug,
    'tasks:write',
    async ({ em, org }) => {
      // An unknown label waits for no lock (each such wait would hold a connection of the pool).
      if (!(await em.count(Label, { id: labelId }))) throw notFound('label');
      // A change to a task locks its board (`seq`), then the label its new link names. Taking every
      // board of the org first, then the label, in that order, means a change adding this label
      // either committed before (its task is among the links read below) or waits for the commit
      // and finds the label gone (VALIDATION_FAILED).
      await em.execute(...sql`select 1 from projects where org_id = ${org.id} order by id for no key update`.bound());
      // Read again once the boards are had, as a board change does (`commitInTurn`): an author
      // removed or demoted while this waited for a busy board is refused.
      authorize(await standingNow(em, org.id, caller.principal), caller.principal, org.id, 'tasks:write', notAMember);
      const label = await em.findOne(Label, { id: labelId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!label) throw notFound('label');
      const request = changeRequest(caller, { orgId: org.id, projectId: null, outsider: notAMember, what: 'label' }, 'task.updated');
      const shared = eventOf(request, '', 0, null); // each event's board, seq and data come from the database
      taken.orgId = org.id;
      for (const logged of await takeLabelOffTasks(em, org.id, labelId, shared, ctx.config.eventRetention)) {
        ctx.eventOrder.taken(org.id, logged.event.projectId, logged.event.seq);
        taken.events.push(logged);
      }
      em.remove(label);
      await em.flush();
    },
    { once: true }, // its seqs are taken in `eventOrder` as it goes: a second try would leave the first's behind
  );
}

/** The events a label's deletion logged (with their rows' ids), each from when its seq was taken, and their org. */
interface TakenSeqs {
  orgId: string | null;
  events: Logged[];
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
