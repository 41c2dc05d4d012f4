import type { FastifyBaseLogger } from 'fastify';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AccessOrders } from './access-orders.js';
import type { AccessOrder, AdmitOrder, RevokeOrder, TaskFlowServer } from './types.js';

/** The PostgreSQL channel access orders travel on (NOTIFY's channels are per database). */
const CHANNEL = 'taskflow_access';
/** How long an order's id is remembered, so that its second copy is not applied. */
const REMEMBER_MS = 60_000;
/** The waits before linking again to PostgreSQL, doubling up to the last. */
const RELINK_MS = { first: 1000, most: 30_000 };

export type AccessOrderKind = 'revoke' | 'admit';

export interface AccessRelay {
  /** Tells the other nodes of an order this node has applied to its own sockets. */
  send(kind: AccessOrderKind, order: AccessOrder): void;
  close(): Promise<void>;
}

/**
 * Carries changes of access (revocations, admissions) between nodes two ways: through the
 * adapter (Redis), and through PostgreSQL (`LISTEN`/`NOTIFY`, with `databaseUrl`), where every
 * such change commits. A kick published while Redis is down, or while one node's link to it is
 * broken, was lost, and a member removed then kept hearing the org's events on another node until
 * the link returned (the access sweep); now it arrives through the database. Each order goes both
 * ways with an id, and is applied once, whichever copy comes first: a late copy of an admission
 * applied after the revocation that followed it would let the member back in.
 *
 * What travels through PostgreSQL while this node's link to it is down is lost to it: once the
 * link is back, `onDatabaseGap` re-checks this node's sockets (the access sweep).
 */
export function relayAccessOrders(
  io: TaskFlowServer,
  accessOrders: AccessOrders,
  options: { databaseUrl: string | null; log: FastifyBaseLogger; onDatabaseGap: () => void },
): AccessRelay {
  const node = randomUUID();
  let sent = 0;
  const seen = new Map<string, number>(); // order id → when it was first seen
  const apply = (kind: unknown, order: unknown) => {
    if (!namesARoom(order)) return;
    const { id } = order as { id?: unknown };
    if (typeof id === 'string') {
      const now = Date.now();
      for (const [known, at] of seen) {
        if (at >= now - REMEMBER_MS) break; // the rest came later
        seen.delete(known);
      }
      if (seen.has(id)) return;
      seen.set(id, now);
    }
    if (kind === 'revoke') void accessOrders.revoke(order as RevokeOrder);
    else if (kind === 'admit') accessOrders.admit(order as AdmitOrder);
  };
  io.on('revoke', (order) => apply('revoke', order));
  io.on('admit', (order) => apply('admit', order));
  const database = options.databaseUrl
    ? listenToDatabase(
        options.databaseUrl,
        options.log,
        (payload) => {
          const message = parsed(payload);
          if (message) apply(message.kind, message.order);
        },
        options.onDatabaseGap,
      )
    : null;

  return {
    send(kind, order) {
      const relayed = { ...order, id: `${node}:${++sent}` };
      seen.set(relayed.id, Date.now()); // this node's own copy, back through PostgreSQL
      io.serverSideEmit(kind, relayed as RevokeOrder & AdmitOrder); // the order of its kind
      database?.notify(JSON.stringify({ kind, order: relayed }));
    },
    close: async () => database?.close(),
  };
}

/** Whether an order that came from another node has the shape of one, a room to apply it to: a shape check, not of who sent it. */
function namesARoom(order: unknown): boolean {
  return typeof (order as { room?: unknown } | null)?.room === 'string';
}

function parsed(payload: string): { kind: unknown; order: unknown } | null {
  try {
    const message = JSON.parse(payload) as { kind?: unknown; order?: unknown } | null;
    return typeof message === 'object' && message !== null ? { kind: message.kind, order: message.order } : null;
  } catch {
    return null;
  }
}

/** How often the listening connection is asked for an answer, and how long it has to give one. */
const HEARTBEAT = { everyMs: 10_000, answerMs: 3000 };

/**
 * A connection of its own that listens on `CHANNEL` and sends this node's orders on it, linked
 * again after it breaks or stops answering (1 s, 2 s, 4 s … apart, at most 30 s); `onGap` runs each
 * time it links after a failure, since what was sent meanwhile did not reach it. An order sent
 * while it is down is not kept for later: a late admission could undo the revocation after it, and
 * the other nodes had it through Redis, or re-check on their next read.
 */
function listenToDatabase(url: string, log: FastifyBaseLogger, onPayload: (payload: string) => void, onGap: () => void) {
  let linked: pg.Client | null = null;
  let failed = false; // since the last link: what was sent meanwhile is lost to this node
  let closed = false;
  let relinkMs = RELINK_MS.first;
  let relink: NodeJS.Timeout | null = null;

  const gone = new WeakSet<pg.Client>();
  const lost = (client: pg.Client, error?: unknown) => {
    if (gone.has(client)) return;
    gone.add(client);
    if (linked === client) linked = null;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    if (closed || relink) return;
    if (!failed) log.warn({ err: error }, 'the link to PostgreSQL for changes of access broke; linking again');
    failed = true;
    relink = setTimeout(() => {
      relink = null;
      void link();
    }, relinkMs);
    relinkMs = Math.min(relinkMs * 2, RELINK_MS.most);
  };

  const link = async () => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 3000,
      query_timeout: HEARTBEAT.answerMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'taskflow-access',
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client, new Error('the connection ended')));
    client.on('notification', ({ channel, payload }) => {
      if (channel === CHANNEL && payload) onPayload(payload);
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
    relinkMs = RELINK_MS.first;
    if (failed) {
      log.info('the link to PostgreSQL for changes of access is back');
      onGap();
    }
    failed = false;
  };
  void link();
  // A connection whose server went away unseen (a host gone, a failover) would hear nothing for as long as TCP takes to tell.
  const heartbeat = setInterval(() => {
    const client = linked;
    client?.query('select 1').catch((error: unknown) => lost(client, error));
  }, HEARTBEAT.everyMs).unref();

  return {
    notify(payload: string) {
      linked?.query('select pg_notify($1, $2)', [CHANNEL, payload]).catch((error: unknown) => {
        log.debug({ err: error }, 'a change of access could not be sent through PostgreSQL');
      });
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      if (relink) clearTimeout(relink);
      await linked?.end().catch(() => {});
    },
  };
}
