import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { BoardEventType } from '../../shared/wire.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Project } from '../projects/project.entity.js';
import { User } from '../users/user.entity.js';

/**
 * An org's outgoing webhook: its boards' events, POSTed to `url` and signed with `secret` (kept as
 * it is, since each delivery is signed with it; shown once, when it is made).
 */
export const Webhook = defineEntity({
  name: 'Webhook',
  tableName: 'webhooks',
  filters: tenantFilter,
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade').index(),
    url: p.string().length(2000),
    secret: p.string().length(100).hidden(),
    /** The event types it is sent; null for all. */
    events: p.json<BoardEventType[]>().nullable(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
  },
});
export type IWebhook = InferEntity<typeof Webhook>;

/** How far a webhook has taken a board's events: up to `seq`. Made for each board when the webhook is. */
export const WebhookCursor = defineEntity({
  name: 'WebhookCursor',
  tableName: 'webhook_cursors',
  filters: tenantFilter,
  uniques: [{ properties: ['webhook', 'project'] }],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    webhook: () => p.manyToOne(Webhook).deleteRule('cascade'),
    project: () => p.manyToOne(Project).deleteRule('cascade').index(),
    seq: p.integer(),
  },
});
export type IWebhookCursor = InferEntity<typeof WebhookCursor>;

/**
 * One board event for one webhook, and how sending it went: `pending` until the receiver answers
 * 2xx (`delivered`) or the tries run out (`failed`). `body` is the JSON as sent and signed. It
 * outlives its board (a deleted board's last events still go out).
 */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  filters: tenantFilter,
  uniques: [{ properties: ['webhook', 'projectId', 'seq'] }],
  indexes: [
    {
      name: 'webhook_deliveries_due_index',
      expression: `create index "webhook_deliveries_due_index" on "webhook_deliveries" ("next_attempt_at") where "status" = 'pending'`,
    },
    { properties: ['webhook', 'createdAt'] },
    // A webhook's due deliveries (`takeDue`), and how far behind it is (`QUEUE_NEW_EVENTS`).
    {
      name: 'webhook_deliveries_pending_index',
      expression: `create index "webhook_deliveries_pending_index" on "webhook_deliveries" ("webhook_id", "next_attempt_at") where "status" = 'pending'`,
    },
    // For the pruning of finished deliveries, which would otherwise read the whole table.
    {
      name: 'webhook_deliveries_finished_index',
      expression: `create index "webhook_deliveries_finished_index" on "webhook_deliveries" ("created_at") where "status" <> 'pending'`,
    },
  ],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    webhook: () => p.manyToOne(Webhook).deleteRule('cascade'),
    projectId: p.uuid(),
    seq: p.integer(),
    eventType: p.string().length(40).$type<BoardEventType>(),
    body: p.text(),
    status: p.enum(['pending', 'delivered', 'failed'] as const),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    lastAttemptAt: p.datetime().nullable(),
    /** The receiver's HTTP status at the last try; null when none came. */
    lastStatus: p.integer().nullable(),
    /** Why the last try failed, in a few words. */
    lastError: p.string().length(300).nullable(),
    deliveredAt: p.datetime().nullable(),
  },
});
export type IWebhookDelivery = InferEntity<typeof WebhookDelivery>;
