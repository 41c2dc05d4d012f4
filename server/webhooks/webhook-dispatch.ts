import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Orm } from '../db/orm.js';
import { runPlain } from '../db/sql-script.js';
import type { Metrics } from '../metrics/metrics.js';
import { type Outgoing, sendDelivery } from './webhook-send.js';
import {
  ANY_WEBHOOK,
  type RetryOptions,
  giveBack,
  PRUNE,
  PRUNE_BATCH,
  QUEUE_NEW_EVENTS,
  recordTry,
  takeDue,
  tryOutcome,
} from './webhook-statements.js';

/** How often a node queues new board events, and takes the deliveries that came due. */
export const DISPATCH_EVERY_MS = 1000;
/** Deliveries one node sends at once (within `PER_WEBHOOK` and `PER_ORG`); a slot that frees is filled at once. */
const AT_ONCE = 32;
/** How often, in rounds, a node prunes the log (from its first), and how many batches at most. */
const PRUNE_EVERY_ROUNDS = 60;
const PRUNE_BATCHES = 5;
/** How long a stop lets the tries under way finish, and then waits for what they write down. */
const STOP_TRIES_MS = 2000;
const STOP_RECORDS_MS = 1000;
/** How often a node without webhooks looks whether there are any now (made on another node). */
const RECHECK_MS = 10_000;

export interface DispatchOptions extends RetryOptions {
  allowPrivate: boolean;
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
  /** The work under way, a round or a refill. */
  private underWay: Promise<void> = Promise.resolve();
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
    await Promise.race([Promise.all([this.underWay, ...this.sending.keys()]), sleep(STOP_TRIES_MS, undefined, { ref: false })]);
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
    this.underWay = (kind === 'round' ? this.runRound() : this.takeDue()).then(
      () => void (this.failing = false),
      (error: unknown) => {
        if (!this.failing && !this.stopped) this.log.warn({ err: error }, 'webhook dispatch failed; trying again');
        this.failing = true;
      },
    );
    void this.underWay.finally(() => {
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
    this.metrics.webhookTry(tryOutcome(result, due.attempts, this.options));
    await runPlain(this.orm, recordTry(due.id, due.attempts, result, this.options));
  }
}
