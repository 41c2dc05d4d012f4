import type { FastifyInstance } from 'fastify';
import {
  changePasswordBody,
  deleteAccountBody,
  loginBody,
  noBody,
  passwordResetBody,
  registerBody,
  resetLinkBody,
  resetPasswordBody,
} from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, OUTSIDE_LANE, requestClient, unlessGivenUp } from '../http/route-kit.js';
import { deleteAccount } from './account-deletion.service.js';
import { changePassword, checkResetLink, requestPasswordReset, resetPassword, signOutOthers } from './account.service.js';
import { login, me, register } from './auth.service.js';
import { requireUser } from './principal.js';

export function authRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    // The password routes' work may be given up once answered at the deadline (`unlessGivenUp`).
    app.post('/auth/register', async (request, reply) => {
      const session = await unlessGivenUp(reply, register(ctx, registerBody.parse(request.body), requestClient(request, reply)));
      return session && reply.status(201).send(session);
    });
    app.post('/auth/login', async (request, reply) =>
      unlessGivenUp(reply, login(ctx, loginBody.parse(request.body), requestClient(request, reply))),
    );
    app.post('/auth/password-reset', async (request, reply) => {
      await requestPasswordReset(ctx, passwordResetBody.parse(request.body).email, requestClient(request, reply).address);
      return reply.status(202).send({});
    });
    app.post('/auth/password-reset/check', async (request, reply) => {
      await checkResetLink(ctx, resetLinkBody.parse(request.body).token);
      return reply.status(204).send();
    });
    app.post('/auth/password-reset/confirm', async (request, reply) =>
      unlessGivenUp(reply, resetPassword(ctx, resetPasswordBody.parse(request.body), requestClient(request, reply))),
    );
    authenticated(ctx, app, (scope) => {
      scope.post('/auth/refresh', OUTSIDE_LANE, async (request) => {
        const user = requireUser(request.principal);
        noBody.parse(request.body);
        return { token: ctx.tokens.sign(user.userId, user.sessionVersion) };
      });
      scope.get('/me', async (request) => me(ctx, request.principal));
      scope.delete('/me', async (request, reply) => {
        const { password } = deleteAccountBody.parse(request.body);
        const deleted = deleteAccount(ctx, callerOf(request), password, requestClient(request, reply)).then(() => 'deleted' as const);
        if ((await unlessGivenUp(reply, deleted)) === undefined) return reply; // answered at the deadline already
        return reply.status(204).send();
      });
      scope.post('/auth/password', async (request, reply) =>
        unlessGivenUp(reply, changePassword(ctx, request.principal, changePasswordBody.parse(request.body), requestClient(request, reply))),
      );
      scope.post('/auth/sign-out-others', async (request) => {
        requireUser(request.principal); // a key is refused as such (403), whatever it sends
        noBody.parse(request.body);
        return signOutOthers(ctx, request.principal);
      });
    });
  };
}
