import type { FastifyInstance } from 'fastify';
import { createWebhookBody, noBody, webhookDeliveriesQuery } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks, retryDelivery, rotateWebhookSecret } from './webhooks.service.js';

export function webhookRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs/:slug/webhooks', async (request, reply) =>
        reply.status(201).send(await createWebhook(ctx, callerOf(request), pathSlug(request), createWebhookBody.parse(request.body))),
      );
      scope.get('/orgs/:slug/webhooks', async (request) => listWebhooks(ctx, callerOf(request), pathSlug(request)));
      scope.delete('/orgs/:slug/webhooks/:webhookId', async (request, reply) => {
        noBody.parse(request.body);
        await deleteWebhook(ctx, callerOf(request), pathSlug(request), pathId(request, 'webhookId'));
        return reply.status(204).send();
      });
      scope.post('/orgs/:slug/webhooks/:webhookId/rotate-secret', async (request) => {
        noBody.parse(request.body);
        return rotateWebhookSecret(ctx, callerOf(request), pathSlug(request), pathId(request, 'webhookId'));
      });
      scope.get('/orgs/:slug/webhooks/:webhookId/deliveries', async (request) =>
        listDeliveries(
          ctx,
          callerOf(request),
          pathSlug(request),
          pathId(request, 'webhookId'),
          webhookDeliveriesQuery.parse(request.query ?? {}),
        ),
      );
      scope.post('/orgs/:slug/webhooks/:webhookId/deliveries/:deliveryId/retry', async (request) => {
        noBody.parse(request.body);
        return retryDelivery(ctx, callerOf(request), pathSlug(request), pathId(request, 'webhookId'), pathId(request, 'deliveryId'));
      });
    });
}
