import type { FastifyInstance } from 'fastify';
import { createLabelBody, noBody, updateLabelBody } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { orgIdBySlug } from '../orgs/org-scope.js';
import { createLabel, deleteLabel, listLabels, updateLabel } from './labels.service.js';

export function labelRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.get('/orgs/:slug/labels', async (request) => listLabels(ctx, callerOf(request), pathSlug(request)));
      scope.post('/orgs/:slug/labels', async (request, reply) =>
        reply.status(201).send(await createLabel(ctx, callerOf(request), pathSlug(request), createLabelBody.parse(request.body))),
      );
      scope.patch('/orgs/:slug/labels/:labelId', async (request) =>
        updateLabel(ctx, callerOf(request), pathSlug(request), pathId(request, 'labelId'), updateLabelBody.parse(request.body)),
      );
      scope.delete('/orgs/:slug/labels/:labelId', async (request, reply) => {
        noBody.parse(request.body);
        const caller = callerOf(request, await orgIdBySlug(ctx, pathSlug(request)));
        await deleteLabel(ctx, caller, pathSlug(request), pathId(request, 'labelId'));
        return reply.status(204).send();
      });
    });
}
