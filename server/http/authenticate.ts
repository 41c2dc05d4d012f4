import type { FastifyRequest } from 'fastify';
import { authenticate } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { unauthorized } from '../errors.js';

/** The principal behind `Authorization: Bearer <token or API key>`, or UNAUTHORIZED. */
export async function authenticateRequest(ctx: AppContext, request: FastifyRequest): Promise<Principal> {
  const match = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw unauthorized();
  return (await authenticate(ctx, { token: match[1] })).principal;
}
