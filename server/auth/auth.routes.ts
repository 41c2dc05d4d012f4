import type { FastifyInstance } from 'fastify';
import { loginBody, registerBody } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, clientIp, OUTSIDE_LANE } from '../http/route-kit.js';
import { login, me, register } from './auth.service.js';
import { requireUser } from './principal.js';

export function authRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.post('/auth/register', async (request, reply) => {
      const from = { ip: clientIp(request), userAgent: request.headers['user-agent']?.slice(0, 500) ?? null };
      return reply.status(201).send(await register(ctx, registerBody.parse(request.body), from));
    });
    app.post('/auth/login', async (request) => login(ctx, loginBody.parse(request.body), clientIp(request)));
    authenticated(ctx, app, (scope) => {
      scope.post('/auth/refresh', OUTSIDE_LANE, async (request) => ({ token: ctx.tokens.sign(requireUser(request.principal).userId) }));
      scope.get('/me', async (request) => me(ctx, request.principal));
    });
  };
}
