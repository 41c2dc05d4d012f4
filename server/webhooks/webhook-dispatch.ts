import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Orm } from '../db/orm.js';
import type { Metrics } from '../metrics/metrics.js';
import { isoTime, runPlain, sql } from '../db/sql-script.js';
import { DELIVERY_TIMEOUT_MS, type Outgoing, sendDelivery, type TryResult } from './webhook-send.js';

/** How often a node looks for board events to queue and deliveries that are due. */
export const DISPATCH_EVERY_MS = 1000;
/** Deliveries one node sends at once. */
const AT_ONCE = 16;
/** How long a try holds its delivery before another node may take it (the node may have died). */
const LEASE_SECONDS = Math.ceil(DELIVERY_TIMEOUT_MS / 1000) * 6;
/** How long finished deliveries stay in the log. */
const KEEP_DAYS = 7;
/** How often, in rounds, a node prunes the log. */
const PRUNE_EVERY_ROUNDS = 600;

export interface DispatchOptions {
  allowPrivate: boolean;
  /** Tries in all before a delivery fails. */
  attempts: number;
  /** The wait after the first failed try, in seconds; each later wait is four times the one before. */
  retryDelay: number;
}

/** The class of the advisory lock the queueing statement takes, apart from any other advisory lock. */
const QUEUE_LOCK = 7_402;
/** How long a stop waits for the round and the records under way. */
const STOP_WAIT_MS = 1000;
/** How often a node without webhooks looks whether there are any now (made on another node). */
const RECHECK_MS = 10_000;

/**
 * Sends the orgs' board events to their webhooks, from every node at once. Each round, one
 * statement queues each board's events since its webhooks' cursors (a board's events commit in
 * `seq` order, under its row's lock, so its `seq` says which are there) and moves the cursors on;
 * then the node takes the deliveries that are due (`for update skip locked`: no two nodes take
 * one), sends them, and writes down how each went. A try holds its delivery for `LEASE_SECONDS`, so
 * one whose node died is tried again by another: a receiver may get an event twice (at least once),
 * and must take each `x-taskflow-delivery` once. While no org has a webhook, a node only looks
 * whether one was made, every `RECHECK_MS` (at once on the node that made it).
 */
export class WebhookDispatch {
  private readonly stopping = new AbortController();
  private readonly sending = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private round: Promise<void> = Promise.resolve();
  private busy = false;
  private failing = false;
  private rounds = 0;
  private webhooksExist = false;
  private checkedAt = -Infinity;

  constructor(
    private readonly orm: Orm,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    private readonly options: DispatchOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), DISPATCH_EVERY_MS);
    this.timer.unref();
  }

  /** A webhook was made on this node: its events go out from the next round. */
  nudge(): void {
    this.webhooksExist = true;
  }

  /**
   * Stops taking deliveries; a try under way is cut short, and tried again once its lease runs
   * out. Waits a moment for what it was writing down, but not for a database that stopped answering.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await Promise.race([Promise.all([this.round, ...this.sending]), sleep(STOP_WAIT_MS, undefined, { ref: false })]);
  }

  // One round at a time: a tick that comes while one runs (a slow database) is skipped. A failing
  // database is logged once, until a round goes through again.
  private tick(): void {
    if (this.busy) return;
    this.busy = true;
    this.round = this.runRound().then(
      () => void (this.failing = false),
      (error: unknown) => {
        if (!this.failing && !this.stopping.signal.aborted) this.log.warn({ err: error }, 'webhook dispatch failed; trying again');
        this.failing = true;
      },
    );
    void this.round.finally(() => (this.busy = false));
  }

  private async runRound(): Promise<void> {
    if (Date.now() - this.checkedAt >= RECHECK_MS) {
      const [row] = await runPlain<{ any: boolean }>(this.orm, ANY_WEBHOOK);
      this.webhooksExist = row?.any === true;
      this.checkedAt = Date.now();
    }
    if (!this.webhooksExist) return;
    this.rounds += 1;
    await runPlain(this.orm, QUEUE_NEW_EVENTS);
    if (this.rounds % PRUNE_EVERY_ROUNDS === 0) await runPlain(this.orm, PRUNE);
    const room = AT_ONCE - this.sending.size;
    if (room <= 0) return;
    for (const outgoing of await runPlain<Outgoing & { attempts: number }>(this.orm, takeDue(room))) {
      const sent: Promise<void> = this.deliver(outgoing)
        .catch((error: unknown) => this.log.warn({ err: error, delivery: outgoing.id }, 'could not record a webhook delivery'))
        .finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }
  }

  private async deliver(outgoing: Outgoing & { attempts: number }): Promise<void> {
    const result = await sendDelivery(outgoing, this.options.allowPrivate, this.stopping.signal);
    if (this.stopping.signal.aborted && !result.delivered) return; // its lease runs out, and it is tried again
    this.metrics.webhookTry(result.delivered ? 'delivered' : outgoing.attempts >= this.options.attempts ? 'gave_up' : 'failed');
    await runPlain(this.orm, recordTry(outgoing.id, outgoing.attempts, result, this.options));
  }
}

const ANY_WEBHOOK = sql`select exists (select 1 from webhooks) as any`;

/**
 * Queues each board's new events for each of its org's webhooks that takes their type, and moves
 * the cursors to the board's `seq`. One node at a time (an advisory lock for the statement, skipped
 * by the others): two at once would wait on each other's new rows, in any order, and deadlock.
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

/** Takes up to `count` due deliveries for a try: counted, and held for `LEASE_SECONDS`. */
function takeDue(count: number) {
  return sql`
    update webhook_deliveries d
       set attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
      from webhooks w
     where w.id = d.webhook_id
       and d.id in (select id from webhook_deliveries
                     where status = 'pending' and next_attempt_at <= now()
                     order by next_attempt_at limit ${count} for update skip locked)
    returning d.id, d.webhook_id as "webhookId", d.event_type as "eventType", d.body, d.attempts, w.url, w.secret`;
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
  const waitSeconds = options.retryDelay * 4 ** (attempts - 1);
  return sql`update webhook_deliveries set status = ${final ? 'failed' : 'pending'}, last_status = ${result.status},
                    last_error = ${result.error}, next_attempt_at = now() + make_interval(secs => ${waitSeconds})
              where id = ${id} and attempts = ${attempts} and status = 'pending'`;
}

const PRUNE = sql`delete from webhook_deliveries where status <> 'pending' and created_at < now() - make_interval(days => ${KEEP_DAYS})`;
