import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { entityId } from '../../shared/schemas.js';
import type { Caller } from '../auth/caller.js';
import type { Principal } from '../auth/principal.js';
import { overflowing } from '../account-lanes.js';
import type { AppContext } from '../context.js';
import { principalRoom } from '../realtime/rooms.js';
import { authenticateRequest } from './authenticate.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** The route option of a handler that reads no database (`/auth/refresh`): it runs at once, outside its account's lane. */
export const OUTSIDE_LANE = { config: { outsideLane: true } };

/**
 * Registers routes that need a signed-in principal, available as `request.principal`. Their
 * handlers run in the principal's lane (`accountLanes`), with its socket events: a few at once
 * on this node, the rest waiting their turn (one answered already at `ANSWER_DEADLINE` does not
 * run), up to a burst, past which a request is refused at once (429). A handler that reads no
 * database (`OUTSIDE_LANE`) is not held behind the account's other work.
 */
export function authenticated(ctx: AppContext, app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  app.register(async (scope) => {
    scope.decorateRequest('principal', null as unknown as never);
    scope.addHook('preHandler', async (request) => {
      request.principal = await authenticateRequest(ctx, request);
    });
    scope.addHook('onRoute', (route) => {
      if ((route.config as { outsideLane?: boolean } | undefined)?.outsideLane) return;
      const handler = route.handler;
      route.handler = function inAccountLane(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
        const account = principalRoom(request.principal);
        if (ctx.accountLanes.full(account)) throw overflowing(ctx.config.socketRateLimit, { retryAfterSeconds: 1 });
        // One answered at the deadline while it waited has nothing left to do.
        return ctx.accountLanes.run(account, async () => (reply.sent ? undefined : handler.call(this, request, reply)));
      };
    });
    routes(scope);
  });
}

/**
 * A path id, in lower case as PostgreSQL spells it (rooms and events are named with it). One that
 * is not a UUID names nothing: it is read as the nil UUID, which no row has (ours are random, of
 * version 4), so that it is answered as any id that names nothing, after the caller's standing in
 * the org: 404 to a member, 403 to an outsider, whatever its spelling.
 */
export function pathId(request: FastifyRequest, name: string): string {
  const parsed = entityId.safeParse((request.params as Record<string, string>)[name]);
  return parsed.success ? parsed.data : NAMES_NOTHING;
}

const NAMES_NOTHING = '00000000-0000-0000-0000-000000000000';

/** The caller of an authenticated route, with what the audit log keeps of the request. */
export function callerOf(request: FastifyRequest, scopeOrgId?: string): Caller {
  const userAgent = request.headers['user-agent'];
  return { principal: request.principal, scopeOrgId, ip: clientIp(request), userAgent: userAgent ? userAgent.slice(0, 500) : null };
}

/**
 * The client's address: the forwarded one behind a trusted proxy (`TRUST_PROXY`), else the TCP
 * peer's. What `X-Forwarded-For` names is taken as the client wrote it, so a value that is no
 * address at all (any text, any length) gives the peer's instead.
 */
export function clientIp(request: FastifyRequest): string {
  return isIP(request.ip) ? request.ip : (request.socket.remoteAddress ?? 'unknown');
}

export function pathSlug(request: FastifyRequest): string {
  return (request.params as { slug: string }).slug;
}
