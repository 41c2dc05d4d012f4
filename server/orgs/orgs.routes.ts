import type { FastifyInstance } from 'fastify';
import { changeRoleBody, createOrgBody, inviteBody, noBody, updateOrgBody } from '../../shared/schemas.js';
import { listAuditLog } from '../audit/audit.service.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { stringifyRaw } from '../raw-json.js';
import { auditLogQuery } from '../../shared/schemas.js';
import { invite, listInvites, revokeInvite } from './invites.service.js';
import { changeRole, listMembers, removeMember } from './members.service.js';
import { createOrg, deleteOrg, getOrg, updateOrg } from './orgs.service.js';

export function orgRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs', async (request, reply) =>
        reply.status(201).send(await createOrg(ctx, callerOf(request), createOrgBody.parse(request.body))),
      );
      scope.get('/orgs/:slug', async (request) => getOrg(ctx, callerOf(request), pathSlug(request)));
      scope.patch('/orgs/:slug', async (request) =>
        updateOrg(ctx, callerOf(request), pathSlug(request), updateOrgBody.parse(request.body)),
      );
      scope.delete('/orgs/:slug', async (request, reply) => {
        noBody.parse(request.body);
        await deleteOrg(ctx, callerOf(request), pathSlug(request));
        return reply.status(204).send();
      });

      scope.get('/orgs/:slug/members', async (request, reply) =>
        reply.type('application/json; charset=utf-8').send(stringifyRaw(await listMembers(ctx, callerOf(request), pathSlug(request)))),
      );
      scope.patch('/orgs/:slug/members/:userId', async (request) => {
        const { role } = changeRoleBody.parse(request.body);
        return changeRole(ctx, callerOf(request), pathSlug(request), pathId(request, 'userId'), role);
      });
      scope.delete('/orgs/:slug/members/:userId', async (request, reply) => {
        noBody.parse(request.body);
        await removeMember(ctx, callerOf(request), pathSlug(request), pathId(request, 'userId'));
        return reply.status(204).send();
      });

      scope.post('/orgs/:slug/invites', async (request, reply) => {
        const outcome = await invite(ctx, callerOf(request), pathSlug(request), inviteBody.parse(request.body));
        return reply.status('member' in outcome ? 201 : 202).send(outcome);
      });
      scope.get('/orgs/:slug/invites', async (request) => listInvites(ctx, callerOf(request), pathSlug(request)));
      scope.delete('/orgs/:slug/invites/:inviteId', async (request, reply) => {
        noBody.parse(request.body);
        await revokeInvite(ctx, callerOf(request), pathSlug(request), pathId(request, 'inviteId'));
        return reply.status(204).send();
      });

      scope.get('/orgs/:slug/audit-log', async (request) =>
        listAuditLog(ctx, callerOf(request), pathSlug(request), auditLogQuery.parse(request.query ?? {})),
      );
    });
}
