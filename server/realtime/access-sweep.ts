import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../context.js';
import { passesLater } from '../errors.js';
import type { Orm } from '../db/orm.js';
import { sql } from '../db/sql-script.js';
import { LIVE_KEY } from '../db/tenant.js';
import type { RedisLink } from './redis.js';
import { createOutageCatchUp } from './outage-catch-up.js';
import { orgsOfRooms } from './rooms.js';
import type { TaskFlowServer } from './types.js';

/** A sweep a node runs when asked, and again until it is done. */
export interface Sweep {
  run(): void;
  stop(): void;
}

/**
 * Re-checks this node's sockets' access, when asked: a change of access may have gone unannounced
 * to them (one sent through the database while this node's link to it was down, or one whose
 * commit's answer was lost, `Broadcaster.accessUnsure`). Apart from the sweep after a Redis
 * outage, with which it may run at once: a socket revoked twice is revoked once.
 */
export function accessSweep(io: TaskFlowServer, ctx: AppContext): Sweep {
  return untilDone(ctx.log, () => sweepLostAccess(io, ctx));
}

/**
 * After a Redis outage, a kick (member removed, key revoked, org deleted, sessions ended) or a board event may
 * have been lost on its way between nodes. When a node's link to Redis returns, it re-checks its
 * own sockets, then sends them their boards' latest events (`createOutageCatchUp`), and asks
 * every other node to do the same: only this node's link may have broken, and then the others
 * saw no outage, though what was sent from here never reached them. Both read the database: one
 * that fails (the database away as Redis returns) is run again until it is done (`untilDone`),
 * or a board event lost in the outage would reach the other nodes' viewers only with the board's
 * next change.
 */
export function sweepAfterOutages(io: TaskFlowServer, ctx: AppContext, redis: RedisLink): Sweep {
  const catchUp = createOutageCatchUp(io, ctx);
  const sweep = untilDone(ctx.log, async () => {
    const rechecked = await sweepLostAccess(io, ctx);
    return (await catchUp()) && rechecked;
  });
  io.on('sweep', sweep.run);
  redis.onRecovered(() => {
    sweep.run();
    io.serverSideEmit('sweep');
  });
  return sweep;
}

/** The waits before running a sweep that failed again, doubling up to the last. */
const RETRY = { firstMs: 1000, mostMs: 30_000 };

/**
 * Runs `work` when asked, and while it answers false (the database away), again 1 s, 2 s, 4 s …
 * apart (at most 30 s). Asked while it runs, it runs once more after, for what changed meanwhile;
 * asked while it waits to run again, it runs at once. Never two runs of one `untilDone` at once. A
 * `work` that throws (a bug) is logged and not run again until asked.
 */
function untilDone(log: FastifyBaseLogger, work: () => Promise<boolean>): Sweep {
  let running = false;
  let again = false;
  let stopped = false;
  let waitMs = RETRY.firstMs;
  let retry: NodeJS.Timeout | null = null;
  const run = async (): Promise<void> => {
    if (stopped) return;
    if (running) return void (again = true);
    if (retry) clearTimeout(retry);
    retry = null;
    running = true;
    again = false;
    const done = await work()
      .catch((error: unknown) => {
        log.error({ err: error }, 'a sweep after an outage failed');
        return true;
      })
      .finally(() => (running = false));
    if (again || stopped) return run();
    if (done) waitMs = RETRY.firstMs;
    else {
      retry = setTimeout(() => void run(), waitMs).unref();
      waitMs = Math.min(waitMs * 2, RETRY.mostMs);
    }
  };
  return {
    run: () => void run(),
    stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
    },
  };
}

/**
 * Re-reads from the database what each local socket may still see, and revokes the rest: an idle
 * socket must not keep hearing an org it no longer belongs to, nor a session its user ended.
 * False when the database could not be read (away, or refusing for now).
 */
async function sweepLostAccess(io: TaskFlowServer, ctx: AppContext): Promise<boolean> {
  try {
    const sockets = await io.local.fetchSockets();
    // The orgs each socket belonged to at connect, and those it joined since (an invitation
    // accepted), taken before the database is read: an org joined after that read is not judged by it.
    const orgsOf = new Map(sockets.map((socket) => [socket, new Set([...socket.data.orgIds, ...orgsOfRooms(socket.rooms)])]));
    const userIds = [...new Set(sockets.flatMap((s) => (s.data.principal.kind === 'user' ? [s.data.principal.userId] : [])))];
    const keyIds = [...new Set(sockets.flatMap((s) => (s.data.principal.kind === 'bot' ? [s.data.principal.keyId] : [])))];
    const connection = ctx.orm.em.getConnection();
    const memberships = userIds.length
      ? await connection.execute<Array<{ user_id: string; org_id: string }>>(
          ...sql`select user_id, org_id from memberships where user_id = any(${userIds}::uuid[])`.bound(),
        )
      : [];
    const users = userIds.length
      ? await connection.execute<Array<{ id: string; session_version: number }>>(
          ...sql`select id, session_version from users where id = any(${userIds}::uuid[])`.bound(),
        )
      : [];
    const liveKeys = keyIds.length
      ? await connection.execute<Array<{ id: string }>>(
          ...sql`select id from api_keys where id = any(${keyIds}::uuid[]) and ${LIVE_KEY}`.bound(),
        )
      : [];
    const member = new Set(memberships.map((m) => `${m.user_id}:${m.org_id}`));
    const live = new Set(liveKeys.map((k) => k.id));
    const sessionVersions = new Map(users.map((user) => [user.id, user.session_version]));
    for (const socket of sockets) {
      const { principal } = socket.data;
      const sessionVersion = principal.kind === 'user' ? (sessionVersions.get(principal.userId) ?? Infinity) : undefined;
      if (principal.kind === 'user' && principal.sessionVersion !== sessionVersion) {
        ctx.broadcaster.endSessions({ socketId: socket.id }, sessionVersion!);
        continue;
      }
      for (const orgId of orgsOf.get(socket)!) {
        if (principal.kind === 'user' && !member.has(`${principal.userId}:${orgId}`)) {
          ctx.broadcaster.revoke({ socketId: socket.id }, orgId, 'removed');
        } else if (principal.kind === 'bot' && !live.has(principal.keyId)) {
          ctx.broadcaster.revoke({ socketId: socket.id }, orgId, 'key_revoked');
        }
      }
    }
    return true;
  } catch (error) {
    if (!passesLater(error)) {
      ctx.log.error({ err: error }, 'could not re-check socket access after an outage');
      return true; // a bug: tried again when asked again, not every 30 s
    }
    ctx.log.warn({ err: error }, 'could not re-check socket access after an outage; trying again');
    return false;
  }
}

/** Whether the user is a member of the org now, as the database says. */
export async function isMember(orm: Orm, userId: string, orgId: string): Promise<boolean> {
  const rows = await orm.em
    .getConnection()
    .execute<Array<{ member: number }>>(
      ...sql`select 1 as member from memberships where user_id = ${userId}::uuid and org_id = ${orgId}::uuid`.bound(),
    );
  return rows.length > 0;
}
