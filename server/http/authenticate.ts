import type { FastifyRequest } from 'fastify';
import { authenticateToken } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { unauthorized } from '../errors.js';

/** The principal behind `Authorization: Bearer <token>`, or UNAUTHORIZED. */
export async function authenticate(ctx: AppContext, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw unauthorized();
  return (await authenticateToken(ctx, match[1])).principal;
}
