import { randomBytes } from 'node:crypto';
import { type FilterQuery, LockMode, raw } from '@mikro-orm/core';
import type { BoardEventType, WebhookDeliveryJson, WebhookJson } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import type { AppContext } from '../context.js';
import { sql } from '../db/sql-script.js';
import { invalid, notFound } from '../errors.js';
import { withOrg } from '../orgs/org-scope.js';
import { userRef } from '../users/user-ref.js';
import { privateHostReason } from './webhook-address.js';
import { type IWebhook, type IWebhookDelivery, Webhook, WebhookDelivery } from './webhook.entity.js';

/** The class of the advisory locks an org's webhooks are made under, apart from any other advisory lock. */
const WEBHOOKS_OF_ORG = 7_403;

/** The longest URL a webhook is kept with (its column's size). */
const MOST_URL_LENGTH = 2000;

/** Webhooks an org may have: each is one more request per event, to a receiver the org names. */
export const MOST_WEBHOOKS = 10;

/**
 * Makes a webhook for the org's boards' events from now on: each board's cursor starts at its
 * `seq` (a board made later starts at its first event). The secret it signs with is in this
 * answer and never again.
 */
export async function createWebhook(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  input: { url: string; events?: BoardEventType[] },
): Promise<{ webhook: WebhookJson; secret: string }> {
  // Kept as it is called: the URL parser's form (a raw CR or LF dropped, the rest escaped).
  const url = new URL(input.url);
  if (url.href.length > MOST_URL_LENGTH) throw invalid(`url: at most ${MOST_URL_LENGTH} characters, once escaped`);
  const refused = ctx.config.webhookAllowPrivate ? null : privateHostReason(url);
  if (refused)
    throw invalid(`a webhook must reach the internet: ${refused} (whoever runs the server can allow it with WEBHOOK_ALLOW_PRIVATE)`);
  const made = await withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org }) => {
    // Two admins at once cannot pass the limit together: the org's webhooks are made one at a time.
    await em.execute(...sql`select pg_advisory_xact_lock(${WEBHOOKS_OF_ORG}, hashtext(${org.id}))`.bound());
    if ((await em.count(Webhook, {})) >= MOST_WEBHOOKS) throw invalid(`an organization has at most ${MOST_WEBHOOKS} webhooks`);
    const secret = newSigningSecret();
    const webhook = em.create(Webhook, {
      org,
      url: url.href,
      secret,
      events: input.events ?? null,
      createdBy: userRef(em, caller.principal),
    });
    await em.flush();
    await em.execute(
      ...sql`insert into webhook_cursors (id, created_at, org_id, webhook_id, project_id, seq)
             select gen_random_uuid(), now(), org_id, ${webhook.id}, id, seq from projects where org_id = ${org.id}`.bound(),
    );
    audit(em, org.id, caller, 'webhook.created', { type: 'webhook', id: webhook.id }, { url: webhook.url, events: webhook.events });
    return { webhook: toWebhookJson(webhook), secret };
  });
  ctx.webhooks.nudge();
  return made;
}

/** A webhook's signing secret: 32 random bytes. */
function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * Gives a webhook a new signing secret, answered this once, as a leaked one is replaced: every
 * try taken from the commit on is signed with it, pending deliveries' too (one already taken, under
 * way, carries the old). A receiver that refuses them until it has the new secret has them tried
 * again, as any failure.
 */
export function rotateWebhookSecret(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  webhookId: string,
): Promise<{ webhook: WebhookJson; secret: string }> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org }) => {
    const webhook = await em.findOne(Webhook, { id: webhookId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!webhook) throw notFound('webhook');
    webhook.secret = newSigningSecret();
    audit(em, org.id, caller, 'webhook.secret_rotated', { type: 'webhook', id: webhook.id }, { url: webhook.url });
    return { webhook: toWebhookJson(webhook), secret: webhook.secret };
  });
}

export function listWebhooks(ctx: AppContext, caller: Caller, slug: string): Promise<WebhookJson[]> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em }) => {
    const webhooks = await em.find(Webhook, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return webhooks.map(toWebhookJson);
  });
}

/** Deletes a webhook, its cursors and its deliveries: nothing more is sent to it, not even what is pending. */
export function deleteWebhook(ctx: AppContext, caller: Caller, slug: string, webhookId: string): Promise<void> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org }) => {
    const webhook = await em.findOne(Webhook, { id: webhookId });
    if (!webhook) throw notFound('webhook');
    em.remove(webhook);
    audit(em, org.id, caller, 'webhook.deleted', { type: 'webhook', id: webhook.id }, { url: webhook.url });
  });
}

/** A webhook's deliveries, newest first (`status` picks one kind), `limit` of them, after the delivery `before` where given. */
export function listDeliveries(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  webhookId: string,
  query: { status?: IWebhookDelivery['status']; limit: number; before?: string },
): Promise<WebhookDeliveryJson[]> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em }) => {
    if (!(await em.findOne(Webhook, { id: webhookId }))) throw notFound('webhook');
    const where: FilterQuery<IWebhookDelivery> = { webhook: webhookId, ...(query.status ? { status: query.status } : {}) };
    if (query.before) {
      if (!(await em.findOne(WebhookDelivery, { id: query.before, webhook: webhookId }, { fields: ['id'] }))) throw notFound('delivery');
      // After `before` in the log's order, compared as stored: a delivery's time has microseconds, which a JS Date drops.
      Object.assign(where, {
        [raw(
          (alias) =>
            `(${alias}.created_at, ${alias}.seq, ${alias}.project_id) < (select created_at, seq, project_id from webhook_deliveries where id = ? and webhook_id = ?)`,
          [query.before, webhookId],
        )]: [],
      });
    }
    const deliveries = await em.find(WebhookDelivery, where, {
      orderBy: { createdAt: 'desc', seq: 'desc', projectId: 'desc' },
      limit: query.limit,
    });
    return deliveries.map(toDeliveryJson);
  });
}

/** Sends a delivery again, with all its tries afresh: one that failed for good (the receiver was away for hours), or was delivered. */
export function retryDelivery(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  webhookId: string,
  deliveryId: string,
): Promise<WebhookDeliveryJson> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em }) => {
    const delivery = await em.findOne(WebhookDelivery, { id: deliveryId, webhook: webhookId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!delivery) throw notFound('delivery');
    if (delivery.status !== 'pending') {
      Object.assign(delivery, { status: 'pending', attempts: 0, nextAttemptAt: new Date(), deliveredAt: null });
      await em.flush();
    }
    return toDeliveryJson(delivery);
  });
}

function toWebhookJson(webhook: IWebhook): WebhookJson {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events ?? null,
    createdBy: webhook.createdBy?.id ?? null,
    createdAt: webhook.createdAt.toISOString(),
  };
}

function toDeliveryJson(delivery: IWebhookDelivery): WebhookDeliveryJson {
  return {
    id: delivery.id,
    projectId: delivery.projectId,
    seq: delivery.seq,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatus: delivery.lastStatus ?? null,
    lastError: delivery.lastError ?? null,
    createdAt: delivery.createdAt.toISOString(),
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  };
}
