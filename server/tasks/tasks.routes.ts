import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createTaskBody, deleteTaskBody, moveTaskBody, updateTaskBody } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { orgIdBySlug } from '../orgs/org-scope.js';
import type { Caller } from '../auth/caller.js';
import { createTask, deleteTask, moveTask, updateTask } from './tasks.service.js';

/** The task routes: the socket events' semantics, through the same service. */
export function taskRoutes(ctx: AppContext) {
  const caller = async (request: FastifyRequest): Promise<Caller> => callerOf(request, await orgIdBySlug(ctx, pathSlug(request)));
  const taskId = (request: FastifyRequest) => pathId(request, 'taskId');

  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs/:slug/projects/:projectId/tasks', async (request, reply) => {
        const body = createTaskBody.parse(request.body);
        const projectId = pathId(request, 'projectId');
        return reply.status(201).send(await createTask(ctx, await caller(request), { ...body, projectId }));
      });
      scope.patch('/orgs/:slug/tasks/:taskId', async (request) => {
        const { baseVersion, clientMutationId, ...patch } = updateTaskBody.parse(request.body);
        return updateTask(ctx, await caller(request), { taskId: taskId(request), patch, baseVersion, clientMutationId });
      });
      scope.post('/orgs/:slug/tasks/:taskId/move', async (request) =>
        moveTask(ctx, await caller(request), { ...moveTaskBody.parse(request.body), taskId: taskId(request) }),
      );
      scope.delete('/orgs/:slug/tasks/:taskId', async (request, reply) => {
        await deleteTask(ctx, await caller(request), { ...deleteTaskBody.parse(request.body ?? {}), taskId: taskId(request) });
        return reply.status(204).send();
      });
    });
}
