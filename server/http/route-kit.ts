import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { entityId } from '../../shared/schemas.js';
import type { Caller } from '../auth/caller.js';
import type { Principal } from '../auth/principal.js';
import { overflowing } from '../account-lanes.js';
import type { AppContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { StillWanted } from '../lanes.js';
import { principalRoom } from '../realtime/rooms.js';
import { answeredAtDeadline } from './answer-deadline.js';
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

/** Where a request came from: its address (`clientIp`), and whether it still waits for the answer (none sent yet, a 503 at the deadline say, and its connection open). */
export interface RequestClient {
  /** Who limits and turns count the client as (failed logins, password work, reset mails): `limitedAddress` of its IP. */
  address: string;
  stillWanted: StillWanted;
}

/**
 * Warns once when a request comes with `X-Forwarded-For` and no proxy is trusted: the proxy's
 * clients then all have its address, and share what is counted per address (failed logins,
 * password work, reset mails) and what the audit log keeps.
 */
export function warnOfUnnamedProxy(app: FastifyInstance): void {
  let warned = false;
  app.addHook('onRequest', async (request) => {
    if (warned || request.headers['x-forwarded-for'] === undefined) return;
    warned = true;
    request.log.warn(
      { peer: request.socket.remoteAddress },
      'a request came with X-Forwarded-For, but TRUST_PROXY is unset: every client behind that proxy has its address; name the proxy in TRUST_PROXY',
    );
  });
}

/**
 * A handler's answer, or nothing once its request was answered 503 at the deadline and its work
 * then given up as no longer wanted (UNAVAILABLE, `RequestClient.stillWanted`): the client has
 * its answer, and fastify would log the late failure as an error, once for each of a crowd.
 */
export async function unlessGivenUp<T>(reply: FastifyReply, work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (answeredAtDeadline(reply) && error instanceof DomainError && error.code === 'UNAVAILABLE') return undefined;
    throw error;
  }
}

export function requestClient(request: FastifyRequest, reply: FastifyReply): RequestClient {
  return {
    address: limitedAddress(clientIp(request)),
    stillWanted: () => !reply.sent && !answeredAtDeadline(reply) && !request.raw.socket.destroyed,
  };
}

/**
 * What a limit counts an address by: an IPv4 address itself (one written inside IPv6 too,
 * `::ffff:203.0.113.7`), an IPv6 one by its /64 network, which one host is commonly given whole,
 * so that each of its addresses is not a client of its own.
 */
function limitedAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const network = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${network.join(':')}::/64`;
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
