import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Orm } from '../db/orm.js';
import { isoTime, runPlain, type Sql, sql } from '../db/sql-script.js';
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
/** How often, in rounds, a node prunes the log (from its first), and in batches of how many rows, how many at most. */
const PRUNE_EVERY_ROUNDS = 60;
const PRUNE_BATCH = 10_000;
const PRUNE_BATCHES = 5;
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
  /** Work asked for while other work ran: done next (a round over a refill, since a round ends with one). */
  private next: 'round' | 'refill' | null = null;
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
    this.timer = setInterval(() => this.run('round'), DISPATCH_EVERY_MS);
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

  // One piece of work at a time, a round or a refill: one asked for while another runs is done
  // right after it (asked for several times, once). A failing database is logged once, until the
  // work goes through again.
  private run(kind: 'round' | 'refill'): void {
    if (this.stopped) return;
    if (this.busy) {
      this.next = this.next === 'round' || kind === 'round' ? 'round' : 'refill';
      return;
    }
    this.busy = true;
    this.round = (kind === 'round' ? this.runRound() : this.takeDue()).then(
      () => void (this.failing = false),
      (error: unknown) => {
        if (!this.failing && !this.stopped) this.log.warn({ err: error }, 'webhook dispatch failed; trying again');
        this.failing = true;
      },
    );
    void this.round.finally(() => {
      this.busy = false;
      const next = this.next;
      this.next = null;
      if (next) this.run(next);
    });
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
    if (this.rounds % PRUNE_EVERY_ROUNDS === 1) await this.prune();
    await this.takeDue();
  }

  /**
   * Fills the free slots with due deliveries, within each webhook's and org's share of what this
   * node sends. A take that filled some, and left slots free (the oldest due were one webhook's,
   * say), is followed by another, which no longer sees those at their share.
   */
  private async takeDue(): Promise<void> {
    const room = AT_ONCE - this.sending.size;
    if (room <= 0 || this.stopped) return;
    const taken = await runPlain<Due>(this.orm, takeDue(room, this.countSending('webhookId'), this.countSending('orgId')));
    if (this.stopped) {
      await Promise.all(taken.map((due) => runPlain(this.orm, giveBack(due.id, due.attempts)))); // taken as the node stopped
      return;
    }
    for (const due of taken) {
      const sent: Promise<void> = this.deliver(due)
        .catch((error: unknown) => this.log.warn({ err: error, delivery: due.id }, 'could not record a webhook delivery'))
        .finally(() => {
          this.sending.delete(sent);
          this.run('refill'); // the next due delivery, without waiting for the round
        });
      this.sending.set(sent, due);
    }
    if (taken.length > 0 && this.sending.size < AT_ONCE) this.next ??= 'refill';
  }

  /** How many deliveries this node sends of each webhook (or org), as JSON for the statement. */
  private countSending(key: 'webhookId' | 'orgId'): string {
    const counts: Record<string, number> = {};
    for (const due of this.sending.values()) counts[due[key]] = (counts[due[key]] ?? 0) + 1;
    return JSON.stringify(counts);
  }

  /** Deletes finished deliveries past their keeping, a batch at a time, a few batches at most. */
  private async prune(): Promise<void> {
    for (let batch = 0; batch < PRUNE_BATCHES && !this.stopped; batch++) {
      const [row] = await runPlain<{ deleted: number }>(this.orm, PRUNE);
      if ((row?.deleted ?? 0) < PRUNE_BATCH) return;
    }
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
 * the cursors on to the board's `seq`: as far as the webhook's room under `MOST_PENDING` goes,
 * shared among its boards with news (each at least one event), so a webhook far behind takes its
 * events from the boards' logs as it catches up. One node at a time (an advisory lock for the
 * statement, skipped by the others): two at once would wait on each other's new rows, in any order,
 * and deadlock.
 */
const QUEUE_NEW_EVENTS = sql`
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
function takeDue(count: number, sendingOfWebhook: string, sendingOfOrg: string) {
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
  with pruned as (
    delete from webhook_deliveries
     where id in (select id from webhook_deliveries
                   where status <> 'pending' and created_at < now() - make_interval(days => ${KEEP_DAYS})
                   limit ${PRUNE_BATCH})
    returning 1
  )
  select count(*)::int as deleted from pruned`;
