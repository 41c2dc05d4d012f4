import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Orm } from '../db/orm.js';
import { isoTime, runPlain, sql } from '../db/sql-script.js';
import type { Metrics } from '../metrics/metrics.js';
import { DELIVERY_TIMEOUT_MS, type Outgoing, sendDelivery, type TryResult } from './webhook-send.js';

/** How often a node queues new board events, and takes the deliveries that came due. */
export const DISPATCH_EVERY_MS = 1000;
/** Deliveries one node sends at once; a slot that frees is filled at once. */
const AT_ONCE = 32;
/** Of those, at most so many for one webhook, and for one org: receivers that hang cannot hold every slot. */
const PER_WEBHOOK = 4;
const PER_ORG = 8;
/**
 * A webhook with so many deliveries pending is queued no more until it catches up: its events wait
 * in the boards' logs instead (its cursors stay where they are), so a dead receiver cannot grow
 * the table without bound.
 */
export const MOST_PENDING = 1000;
/** How long a try holds its delivery before another node may take it (the node may have died). */
const LEASE_SECONDS = Math.ceil(DELIVERY_TIMEOUT_MS / 1000) * 6;
/** The longest wait between two tries of a delivery. */
const LONGEST_WAIT_SECONDS = 86_400;
/** How long finished deliveries stay in the log. */
const KEEP_DAYS = 7;
/** How often, in rounds, a node prunes the log, and how many rows one pruning deletes at most. */
const PRUNE_EVERY_ROUNDS = 600;
const PRUNE_AT_MOST = 10_000;
/** The class of the advisory lock the queueing statement takes, apart from any other advisory lock. */
const QUEUE_LOCK = 7_402;
/** How long a stop lets the tries under way finish, and then waits for what they write down. */
const STOP_TRIES_MS = 2000;
const STOP_RECORDS_MS = 1000;
/** How often a node without webhooks looks whether there are any now (made on another node). */
const RECHECK_MS = 10_000;

export interface DispatchOptions {
  allowPrivate: boolean;
  /** Tries in all before a delivery fails. */
  attempts: number;
  /** The wait after the first failed try, in seconds; each later wait is four times the one before (a day at most). */
  retryDelay: number;
}

type Due = Outgoing & { orgId: string; attempts: number };

/**
 * Sends the orgs' board events to their webhooks, from every node at once. Each round, one
 * statement queues each board's events since its webhooks' cursors (a board's events commit in
 * `seq` order, under its row's lock, so its `seq` says which are there) and moves the cursors on;
 * then the node takes the deliveries that are due (`for update skip locked`: no two nodes take
 * one), sends them, and writes down how each went, taking the next as each finishes. A try holds
 * its delivery for `LEASE_SECONDS`, so one whose node died is tried again by another: a receiver
 * may get an event twice (at least once), and must take each `x-taskflow-delivery` once. While no
 * org has a webhook, a node only looks whether one was made, every `RECHECK_MS` (at once on the
 * node that made it).
 */
export class WebhookDispatch {
  private readonly stopping = new AbortController();
  private readonly sending = new Map<Promise<void>, Due>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private round: Promise<void> = Promise.resolve();
  private busy = false;
  private stopped = false;
  private failing = false;
  private rounds = 0;
  private webhooksExist = false;
  private checkedAt = -Infinity;
  private nudges = 0;

  constructor(
    private readonly orm: Orm,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    private readonly options: DispatchOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.run(() => this.runRound()), DISPATCH_EVERY_MS);
    this.timer.unref();
  }

  /** A webhook was made on this node: its events go out from the next round. */
  nudge(): void {
    this.webhooksExist = true;
    this.nudges += 1;
  }

  /**
   * Takes no more deliveries, lets the tries under way finish for `STOP_TRIES_MS`, then cuts the
   * rest short and gives their deliveries back to be tried at once by another node (their
   * receivers may have had them already). Does not wait for a database that stopped answering.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.race([Promise.all([this.round, ...this.sending.keys()]), sleep(STOP_TRIES_MS, undefined, { ref: false })]);
    this.stopping.abort();
    await Promise.race([Promise.all(this.sending.keys()), sleep(STOP_RECORDS_MS, undefined, { ref: false })]);
  }

  // One piece of work at a time, a round or a refill: one that comes while another runs is skipped
  // (a slow database). A failing database is logged once, until the work goes through again.
  private run(work: () => Promise<void>): void {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.round = work().then(
      () => void (this.failing = false),
      (error: unknown) => {
        if (!this.failing && !this.stopped) this.log.warn({ err: error }, 'webhook dispatch failed; trying again');
        this.failing = true;
      },
    );
    void this.round.finally(() => (this.busy = false));
  }

  private async runRound(): Promise<void> {
    if (Date.now() - this.checkedAt >= RECHECK_MS) {
      const nudges = this.nudges;
      const [row] = await runPlain<{ any: boolean }>(this.orm, ANY_WEBHOOK);
      this.webhooksExist = row?.any === true || this.nudges !== nudges; // one made as it looked may not be seen yet
      this.checkedAt = Date.now();
    }
    if (!this.webhooksExist) return;
    this.rounds += 1;
    await runPlain(this.orm, QUEUE_NEW_EVENTS);
    if (this.rounds % PRUNE_EVERY_ROUNDS === 0) await runPlain(this.orm, PRUNE);
    await this.takeDue();
  }

  /** Fills the free slots with due deliveries, within each webhook's and org's share. */
  private async takeDue(): Promise<void> {
    const room = AT_ONCE - this.sending.size;
    if (room <= 0 || this.stopped) return;
    const [webhooksFull, orgsFull] = [this.atShare('webhookId', PER_WEBHOOK), this.atShare('orgId', PER_ORG)];
    for (const due of await runPlain<Due>(this.orm, takeDue(room, webhooksFull, orgsFull))) {
      const sent: Promise<void> = this.deliver(due)
        .catch((error: unknown) => this.log.warn({ err: error, delivery: due.id }, 'could not record a webhook delivery'))
        .finally(() => {
          this.sending.delete(sent);
          setImmediate(() => this.run(() => this.takeDue())); // the next due delivery, without waiting for the round
        });
      this.sending.set(sent, due);
    }
  }

  /** The webhooks (or orgs) this node already sends `share` deliveries of. */
  private atShare(key: 'webhookId' | 'orgId', share: number): string[] {
    const counts = new Map<string, number>();
    for (const due of this.sending.values()) counts.set(due[key], (counts.get(due[key]) ?? 0) + 1);
    return [...counts].filter(([, count]) => count >= share).map(([id]) => id);
  }

  private async deliver(due: Due): Promise<void> {
    const result = await sendDelivery(due, this.options.allowPrivate, this.stopping.signal);
    if (this.stopping.signal.aborted && !result.delivered) {
      await runPlain(this.orm, giveBack(due.id, due.attempts)); // cut short by the stop: not a try
      return;
    }
    this.metrics.webhookTry(result.delivered ? 'delivered' : due.attempts >= this.options.attempts ? 'gave_up' : 'failed');
    await runPlain(this.orm, recordTry(due.id, due.attempts, result, this.options));
  }
}

const ANY_WEBHOOK = sql`select exists (select 1 from webhooks) as any`;

/**
 * Queues each board's new events for each of its org's webhooks that takes their type, and moves
 * the cursors to the board's `seq`; a webhook `MOST_PENDING` deliveries behind is left where it is.
 * One node at a time (an advisory lock for the statement, skipped by the others): two at once
 * would wait on each other's new rows, in any order, and deadlock.
 */
const QUEUE_NEW_EVENTS = sql`
  with queuer as (
    select pg_try_advisory_xact_lock(${QUEUE_LOCK}, 0) as alone
  ), due as (
    select w.id as webhook_id, w.org_id, w.events, p.id as project_id, coalesce(c.seq, 0) as after_seq, p.seq as upto
      from queuer, webhooks w
      join projects p on p.org_id = w.org_id
      left join webhook_cursors c on c.webhook_id = w.id and c.project_id = p.id
     where queuer.alone and p.seq > coalesce(c.seq, 0)
       and (select count(*) from (select 1 from webhook_deliveries b
                                   where b.webhook_id = w.id and b.status = 'pending' limit ${MOST_PENDING}) behind) < ${MOST_PENDING}
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
 * Takes up to `count` due deliveries for a try, oldest due first, at most `PER_WEBHOOK` of a
 * webhook and `PER_ORG` of an org, none of those this node already sends its share of: counted,
 * and held for `LEASE_SECONDS`.
 */
function takeDue(count: number, webhooksFull: string[], orgsFull: string[]) {
  return sql`
    with candidates as (
      select id, webhook_id, org_id, next_attempt_at from webhook_deliveries
       where status = 'pending' and next_attempt_at <= now()
         and not (webhook_id::text = any(${webhooksFull})) and not (org_id::text = any(${orgsFull}))
       order by next_attempt_at limit ${count * PER_ORG} for update skip locked
    ), within_webhook as (
      select id, org_id, next_attempt_at, row_number() over (partition by webhook_id order by next_attempt_at, id) as nth
        from candidates
    ), within_org as (
      -- Counted among those within their webhook's share, so that the first few of an org always pass both.
      select id, next_attempt_at, row_number() over (partition by org_id order by next_attempt_at, id) as nth
        from within_webhook where nth <= ${PER_WEBHOOK}
    ), chosen as (
      select id from within_org where nth <= ${PER_ORG} order by next_attempt_at, id limit ${count}
    )
    update webhook_deliveries d
       set attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
      from webhooks w
     where w.id = d.webhook_id and d.id in (select id from chosen)
    returning d.id, d.webhook_id as "webhookId", d.org_id as "orgId", d.event_type as "eventType", d.body, d.attempts, w.url, w.secret`;
}

/**
 * Writes down how a try went, unless the delivery was taken again meanwhile (its lease ran out):
 * delivered; failed for good after the last try; or due again after the wait for its count.
 */
function recordTry(id: string, attempts: number, result: TryResult, options: DispatchOptions) {
  if (result.delivered)
    return sql`update webhook_deliveries set status = 'delivered', delivered_at = now(), last_status = ${result.status},
                      last_error = null, next_attempt_at = now()
                where id = ${id} and attempts = ${attempts} and status = 'pending'`;
  const final = attempts >= options.attempts;
  const waitSeconds = final ? 0 : Math.min(options.retryDelay * 4 ** (attempts - 1), LONGEST_WAIT_SECONDS);
  return sql`update webhook_deliveries set status = ${final ? 'failed' : 'pending'}, last_status = ${result.status},
                    last_error = ${result.error}, next_attempt_at = now() + make_interval(secs => ${waitSeconds})
              where id = ${id} and attempts = ${attempts} and status = 'pending'`;
}

/** A try the node's stop cut short: due again at once, its count as before. */
function giveBack(id: string, attempts: number) {
  return sql`update webhook_deliveries set attempts = attempts - 1, next_attempt_at = now()
              where id = ${id} and attempts = ${attempts} and status = 'pending'`;
}

const PRUNE = sql`
  delete from webhook_deliveries
   where id in (select id from webhook_deliveries
                 where status <> 'pending' and created_at < now() - make_interval(days => ${KEEP_DAYS})
                 limit ${PRUNE_AT_MOST})`;
