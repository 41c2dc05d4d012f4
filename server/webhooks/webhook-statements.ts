import { isoTime, type Sql, sql } from '../db/sql-script.js';
import type { WebhookTryOutcome } from '../metrics/metrics.js';
import { DELIVERY_TIMEOUT_MS, type TryResult } from './webhook-send.js';

// The statements of the webhook dispatch (`webhook-dispatch.ts`): every node runs them, on the
// connecting role, outside any tenant.

/** Of a node's tries at once, at most so many for one webhook, and for one org: receivers that hang cannot hold every slot. */
const PER_WEBHOOK = 4;
const PER_ORG = 8;
/**
 * A webhook is queued at most so many deliveries pending (and one more a board): the rest of its
 * events wait in the boards' logs (its cursors stay behind them), so a dead receiver cannot grow
 * the table without bound.
 */
export const MOST_PENDING = 1000;
/** How long a try holds its delivery before another node may take it (the node may have died). */
const LEASE_SECONDS = Math.ceil(DELIVERY_TIMEOUT_MS / 1000) * 6;
/** The longest wait between two tries of a delivery. */
const LONGEST_WAIT_SECONDS = 86_400;
/** How long finished deliveries stay in the log. */
const KEEP_DAYS = 7;
/** How many finished deliveries one pruning statement deletes at most. */
export const PRUNE_BATCH = 10_000;
/** The class of the advisory lock the queueing statement takes, apart from any other advisory lock. */
const QUEUE_LOCK = 7_402;

export interface RetryOptions {
  /** Tries in all before a delivery fails. */
  attempts: number;
  /** The wait after the first failed try, in seconds; each later wait is four times the one before (a day at most). */
  retryDelay: number;
}

export const ANY_WEBHOOK = sql`select exists (select 1 from webhooks) as any`;

/**
 * Queues each board's new events for each of its org's webhooks that takes their type, and moves
 * the cursors on to the board's `seq`: as far as the webhook's room under `MOST_PENDING` goes,
 * shared among its boards with news (each at least one event), so a webhook far behind takes its
 * events from the boards' logs as it catches up. One node at a time (an advisory lock for the
 * statement, skipped by the others): two at once would wait on each other's new rows, in any order,
 * and deadlock.
 */
export const QUEUE_NEW_EVENTS = sql`
  with queuer as (
    select pg_try_advisory_xact_lock(${QUEUE_LOCK}, 0) as alone
  ), room as (
    select w.id as webhook_id, w.org_id, w.events,
           ${MOST_PENDING} - (select count(*) from (select 1 from webhook_deliveries b
                                                    where b.webhook_id = w.id and b.status = 'pending' limit ${MOST_PENDING}) pending) as room
      from queuer, webhooks w
     where queuer.alone
  ), news as (
    select r.webhook_id, r.org_id, r.events, r.room, p.id as project_id, coalesce(c.seq, 0) as after_seq, p.seq,
           count(*) over (partition by r.webhook_id) as boards
      from room r
      join projects p on p.org_id = r.org_id
      left join webhook_cursors c on c.webhook_id = r.webhook_id and c.project_id = p.id
     where r.room > 0 and p.seq > coalesce(c.seq, 0)
  ), due as (
    select webhook_id, org_id, events, project_id, after_seq, least(seq, after_seq + greatest(room / boards, 1)) as upto from news
  ), queued as (
    insert into webhook_deliveries (id, created_at, org_id, webhook_id, project_id, seq, event_type, body, status, attempts, next_attempt_at)
    select gen_random_uuid(), now(), d.org_id, d.webhook_id, e.project_id, e.seq, e.type,
           json_build_object('orgId', e.org_id, 'projectId', e.project_id, 'seq', e.seq, 'type', e.type, 'actor', e.actor,
                             'data', e.payload, 'clientMutationId', e.client_mutation_id, 'at', ${isoTime(sql`e.created_at`)})::text,
           'pending', 0, now()
      from due d
      join board_events e on e.project_id = d.project_id and e.seq > d.after_seq and e.seq <= d.upto
     where d.events is null or d.events @> jsonb_build_array(e.type)
    on conflict (webhook_id, project_id, seq) do nothing
  )
  insert into webhook_cursors (id, created_at, org_id, webhook_id, project_id, seq)
  select gen_random_uuid(), now(), org_id, webhook_id, project_id, upto from due
  on conflict (webhook_id, project_id) do update set seq = greatest(webhook_cursors.seq, excluded.seq)`;

/**
 * Takes up to `count` due deliveries for a try, within each webhook's `PER_WEBHOOK` and each org's
 * `PER_ORG`, counting what this node sends already (`sendingOf*`: JSON, id to count), oldest due
 * first: counted, and held for `LEASE_SECONDS`. Each webhook's due deliveries are read from its
 * own index range, a few at most, so one webhook's backlog costs nothing to the others' takes.
 */
export function takeDue(count: number, sendingOfWebhook: string, sendingOfOrg: string) {
  const sendingOf = (counts: string, column: Sql) => sql`coalesce((${counts}::jsonb ->> ${column}::text)::int, 0)`;
  const orgTries = sendingOf(sendingOfOrg, sql`org_id`);
  return sql`
    with candidates as (
      select d.id, d.webhook_id, d.org_id, d.next_attempt_at, ${sendingOf(sendingOfWebhook, sql`w.id`)} as webhook_tries
        from webhooks w
        cross join lateral (
          select id, webhook_id, org_id, next_attempt_at from webhook_deliveries b
           where b.webhook_id = w.id and b.status = 'pending' and b.next_attempt_at <= now()
           order by b.next_attempt_at limit ${PER_WEBHOOK} for update skip locked
        ) d
       where ${sendingOf(sendingOfOrg, sql`w.org_id`)} < ${PER_ORG}
    ), within_webhook as (
      select id, org_id, next_attempt_at
        from (select *, row_number() over (partition by webhook_id order by next_attempt_at, id) + webhook_tries as nth from candidates) c
       where nth <= ${PER_WEBHOOK}
    ), within_org as (
      select id, next_attempt_at, row_number() over (partition by org_id order by next_attempt_at, id) + ${orgTries} as nth
        from within_webhook
    ), chosen as (
      select id from within_org where nth <= ${PER_ORG} order by next_attempt_at, id limit ${count}
    )
    update webhook_deliveries d
       set attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
      from webhooks w
     where w.id = d.webhook_id and d.id in (select id from chosen)
    returning d.id, d.webhook_id as "webhookId", d.org_id as "orgId", d.event_type as "eventType", d.body, d.attempts, w.url, w.secret`;
}

/** How a try went: delivered, failed (to be tried again), or failed at its last try. */
export function tryOutcome(result: TryResult, attempts: number, options: RetryOptions): WebhookTryOutcome {
  return result.delivered ? 'delivered' : attempts >= options.attempts ? 'gave_up' : 'failed';
}

/**
 * Writes down how a try went, unless the delivery was taken again meanwhile (its lease ran out):
 * delivered; failed for good after the last try; or due again after the wait for its count.
 */
export function recordTry(id: string, attempts: number, result: TryResult, options: RetryOptions) {
  if (result.delivered)
    return sql`update webhook_deliveries set status = 'delivered', delivered_at = now(), last_status = ${result.status},
                      last_error = null, next_attempt_at = now()
                where id = ${id} and attempts = ${attempts} and status = 'pending'`;
  const final = tryOutcome(result, attempts, options) === 'gave_up';
  const waitSeconds = final ? 0 : Math.min(options.retryDelay * 4 ** (attempts - 1), LONGEST_WAIT_SECONDS);
  return sql`update webhook_deliveries set status = ${final ? 'failed' : 'pending'}, last_status = ${result.status},
                    last_error = ${result.error}, next_attempt_at = now() + make_interval(secs => ${waitSeconds})
              where id = ${id} and attempts = ${attempts} and status = 'pending'`;
}

/** A try the node's stop cut short: due again at once, its count as before. */
export function giveBack(id: string, attempts: number) {
  return sql`update webhook_deliveries set attempts = attempts - 1, next_attempt_at = now()
              where id = ${id} and attempts = ${attempts} and status = 'pending'`;
}

export const PRUNE = sql`
  with pruned as (
    delete from webhook_deliveries
     where id in (select id from webhook_deliveries
                   where status <> 'pending' and created_at < now() - make_interval(days => ${KEEP_DAYS})
                   limit ${PRUNE_BATCH})
    returning 1
  )
  select count(*)::int as deleted from pruned`;
