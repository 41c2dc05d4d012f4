import type { FastifyInstance } from 'fastify';
import { createApiKeyBody, noBody } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys.service.js';

export function apiKeyRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs/:slug/api-keys', async (request, reply) =>
        reply.status(201).send(await createApiKey(ctx, callerOf(request), pathSlug(request), createApiKeyBody.parse(request.body))),
      );
      scope.get('/orgs/:slug/api-keys', async (request) => listApiKeys(ctx, callerOf(request), pathSlug(request)));
      scope.delete('/orgs/:slug/api-keys/:keyId', async (request, reply) => {
        noBody.parse(request.body);
        await revokeApiKey(ctx, callerOf(request), pathSlug(request), pathId(request, 'keyId'));
        return reply.status(204).send();
      });
    });
}
