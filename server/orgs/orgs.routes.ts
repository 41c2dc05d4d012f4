import type { FastifyInstance } from 'fastify';
import { createOrgBody, inviteBody } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, pathSlug } from '../http/route-kit.js';
import { addMember, createOrg, getOrg, listMembers } from './orgs.service.js';

export function orgRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs', async (request, reply) =>
        reply.status(201).send(await createOrg(ctx, request.principal, createOrgBody.parse(request.body))),
      );
      scope.get('/orgs/:slug', async (request) => getOrg(ctx, request.principal, pathSlug(request)));
      scope.get('/orgs/:slug/members', async (request) => listMembers(ctx, request.principal, pathSlug(request)));
      scope.post('/orgs/:slug/invites', async (request, reply) => {
        const member = await addMember(ctx, request.principal, pathSlug(request), inviteBody.parse(request.body));
        return reply.status(201).send({ member });
      });
    });
}
