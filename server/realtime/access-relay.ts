import type { FastifyBaseLogger } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type AccessMessage, accessMessageReader, MESSAGE_MS, signedAccessMessage } from './access-messages.js';
import type { AccessOrders } from './access-orders.js';
import { userOfRoom } from './rooms.js';
import type { AdmitOrder, RevokeOrder, TaskFlowServer } from './types.js';

/** The PostgreSQL channel changes of access travel on (NOTIFY's channels are per database). */
const CHANNEL = 'taskflow_access';
/** The waits before linking again to PostgreSQL, doubling up to the last; a link that held for `steadyMs` starts again from the first. */
const RELINK = { firstMs: 1000, mostMs: 30_000, steadyMs: 30_000 };
/** How often the listening connection is asked for an answer, and how long it has to give one. */
const HEARTBEAT = { everyMs: 10_000, answerMs: 3000 };
/** How long a stop waits for the listening connection to close before cutting it. */
const CLOSE_MS = 1000;

export interface AccessRelay {
  /** Tells the other nodes of a revocation this node has applied to its own sockets. */
  revoke(order: RevokeOrder): void;
  /** Tells the other nodes of an admission this node has applied to its own sockets. */
  admit(order: AdmitOrder): void;
  /** Asks every node, this one too, to re-check its sockets' access (`onDatabaseGap`, the access sweep). */
  sweep(): void;
  /**
   * Asks every node, through Redis and PostgreSQL, to run its sweep after an outage (`onCatchUp`:
   * re-check its sockets' access, send them their boards' latest events): for a node that stops
   * with board events that may have reached no one.
   */
  catchUp(): Promise<void>;
  /**
   * Links to PostgreSQL, once the node has migrated: a database that cannot be opened is then
   * told in start-up's one line, not first in a warning of the link's.
   */
  start(): void;
  close(): Promise<void>;
}

/**
 * Carries changes of access between nodes, through the adapter (Redis) and through PostgreSQL
 * (`LISTEN`/`NOTIFY`, with `databaseUrl`), where every such change commits. A kick published
 * while Redis is down, or while one node's link to it is broken, was lost, and a member removed
 * then kept hearing the org's events on another node until the link returned (the access sweep);
 * now it arrives through the database. So does an admission (a member added), whose sockets on
 * other nodes did not hear the org until they reconnected.
 *
 * A revocation may so arrive twice, and is applied each time (applying one again changes
 * nothing). An admission's Redis copy is applied as it comes: Redis carries a node's admissions
 * and revocations in the order they were made, so the last order it brings for a member stands.
 * Its database copy may come before or after the Redis copies, so it is applied only if the
 * membership is still in the database (`isMember`) and no revocation reached this node while that
 * was read: a late copy must not let back in a member removed since.
 *
 * What travels through PostgreSQL while a node's link to it is down is lost to that node, and what
 * a node sends meanwhile is lost to all: once its link is back, every node re-checks its sockets
 * (`onDatabaseGap`, the access sweep), as after a Redis outage.
 */
export function relayAccessOrders(
  io: TaskFlowServer,
  accessOrders: AccessOrders,
  options: {
    databaseUrl: string | null;
    secret: string;
    log: FastifyBaseLogger;
    isMember: (userId: string, orgId: string) => Promise<boolean>;
    onDatabaseGap: () => void;
    onCatchUp: () => void;
  },
): AccessRelay {
  const revoke = (order: unknown) => {
    if (namesARoom(order)) void accessOrders.revoke(order as RevokeOrder);
  };
  io.on('revoke', revoke);
  io.on('admit', (order) => {
    if (namesARoom(order)) accessOrders.admit(order);
  });
  const database = options.databaseUrl
    ? listenToDatabase(options.databaseUrl, options.secret, options.log, (message) => {
        if (message.kind === 'revoke') revoke(message.order);
        else if (message.kind === 'admit') void admitIfMember(accessOrders, options.isMember, message.order, options.log);
        else if (message.kind === 'sweep') options.onDatabaseGap();
        else if (message.kind === 'catch-up') options.onCatchUp();
      })
    : null;

  return {
    revoke(order) {
      io.serverSideEmit('revoke', order);
      void database?.notify({ kind: 'revoke', order });
    },
    admit(order) {
      io.serverSideEmit('admit', order);
      void database?.notify({ kind: 'admit', order });
    },
    sweep() {
      if (database) return void database.notify({ kind: 'sweep' }); // reaches this node too, once linked
      options.onDatabaseGap();
      io.serverSideEmit('sweep'); // the other nodes' sweep after an outage, which re-checks access first
    },
    async catchUp() {
      io.serverSideEmit('sweep'); // where this node's link to Redis holds
      await database?.notify({ kind: 'catch-up' }); // where it does not
    },
    start: () => database?.start(),
    close: async () => database?.close(),
  };
}

/** How many times an admission's membership is read while revocations keep coming in. */
const ADMISSION_READS = 3;

/**
 * Applies an admission that came through the database if the membership still stands there, read
 * while no revocation reached this node (a read that began after one sees its removal); read again
 * if one did. True once applied.
 */
export async function admitIfMember(
  accessOrders: Pick<AccessOrders, 'revocations' | 'admit'>,
  isMember: (userId: string, orgId: string) => Promise<boolean>,
  order: unknown,
  log: Pick<FastifyBaseLogger, 'debug'>,
): Promise<boolean> {
  const { room, admitTo } = (order ?? {}) as { room?: unknown; admitTo?: unknown };
  const userId = typeof room === 'string' ? userOfRoom(room) : undefined;
  if (!userId || typeof admitTo !== 'string') return false;
  for (let read = 0; read < ADMISSION_READS; read += 1) {
    const revocations = accessOrders.revocations;
    let member: boolean;
    try {
      member = await isMember(userId, admitTo);
    } catch (error) {
      log.debug({ err: error }, 'an admission that came through PostgreSQL could not be checked');
      return false;
    }
    if (!member) return false;
    if (accessOrders.revocations === revocations) {
      accessOrders.admit({ room: room as string, admitTo });
      return true;
    }
  }
  return false;
}

/** Whether an order that came from another node has the shape of one, a room to apply it to: a shape check, not of who sent it. */
function namesARoom(order: unknown): boolean {
  return typeof (order as { room?: unknown } | null)?.room === 'string';
}

/**
 * A connection of its own that listens on `CHANNEL` and sends this node's changes of access on it,
 * linked from `start`, and again after it breaks or stops answering (1 s, 2 s, 4 s … apart, at most 30 s). Once it
 * links after a failure, it asks every node, this one too, to re-check its sockets: what was sent
 * meanwhile did not reach this node, and what this node sent did not leave it. A revocation is not
 * kept to be sent later: the sweep carries a revocation, and the other nodes' sockets hear an
 * admission when they reconnect, if not through Redis.
 */
function listenToDatabase(
  url: string,
  secret: string,
  log: FastifyBaseLogger,
  onMessage: (message: { kind?: unknown; order?: unknown }) => void,
) {
  let warnedAt = -Infinity;
  const read = accessMessageReader(secret, {
    outOfTime: (aheadMs) => {
      if (Date.now() - warnedAt < MESSAGE_MS) return;
      warnedAt = Date.now();
      log.warn(
        { aheadMs },
        `refused a signed change of access on ${CHANNEL} sent over a minute from this node's clock: are the nodes' clocks apart? (or was it recorded and sent again?)`,
      );
    },
  });
  let linked: pg.Client | null = null;
  let failed = false; // since the last link
  let closed = false;
  let relinkMs = RELINK.firstMs;
  let relink: NodeJS.Timeout | null = null;
  let steady: NodeJS.Timeout | null = null;

  const gone = new WeakSet<pg.Client>();
  const lost = (client: pg.Client, error?: unknown) => {
    if (gone.has(client)) return;
    gone.add(client);
    if (linked === client) linked = null;
    if (steady) clearTimeout(steady);
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    if (closed || relink) return;
    if (!failed) log.warn({ err: error }, 'the link to PostgreSQL for changes of access broke; linking again');
    failed = true;
    relink = setTimeout(() => {
      relink = null;
      void link();
    }, relinkMs);
    relinkMs = Math.min(relinkMs * 2, RELINK.mostMs);
  };

  const send = (client: pg.Client, message: AccessMessage) =>
    client
      .query('select pg_notify($1, $2)', [CHANNEL, signedAccessMessage(secret, message)])
      .catch((error: unknown) => lost(client, error));

  const link = async () => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 3000,
      query_timeout: HEARTBEAT.answerMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'taskflow-access',
      options: '-c idle_session_timeout=0',
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client, new Error('the connection ended')));
    client.on('notification', ({ channel, payload }) => {
      const message = channel === CHANNEL && payload ? read(payload) : null;
      if (message) onMessage(message);
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch (error) {
      lost(client, error);
      return;
    }
    if (closed) return void client.end().catch(() => {});
    linked = client;
    // A link that breaks soon after it is made (a server that ends new sessions) is made again ever later, not every second.
    steady = setTimeout(() => (relinkMs = RELINK.firstMs), RELINK.steadyMs).unref();
    if (failed) {
      log.info('the link to PostgreSQL for changes of access is back; every node re-checks its sockets');
      void send(client, { kind: 'sweep' }); // reaches this node too
    }
    failed = false;
  };
  let started = false;
  // A connection whose server went away unseen (a host gone, a failover) would hear nothing for as long as TCP takes to tell.
  const heartbeat = setInterval(() => {
    const client = linked;
    client?.query('select 1').catch((error: unknown) => lost(client, error));
  }, HEARTBEAT.everyMs).unref();

  return {
    start() {
      if (started) return;
      started = true;
      void link();
    },
    /** Sends `message`; resolves once PostgreSQL has it, or the link broke. */
    async notify(message: AccessMessage): Promise<void> {
      if (linked) await send(linked, message);
      else failed = true; // sent by no one: the sweep once linked carries it
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      if (relink) clearTimeout(relink);
      if (steady) clearTimeout(steady);
      const client = linked;
      if (!client) return;
      // A server gone unseen would hold `end()` until TCP gives up: cut after a moment.
      await Promise.race([client.end().catch(() => {}), sleep(CLOSE_MS, undefined, { ref: false })]);
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    },
  };
}
