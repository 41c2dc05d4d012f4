import type { FastifyInstance } from 'fastify';
import { createProjectBody, updateProjectBody } from '../../shared/schemas.js';
import { readBoard } from '../board/board-read.js';
import type { AppContext } from '../context.js';
import { authenticated, callerOf, pathId, pathSlug } from '../http/route-kit.js';
import { orgIdBySlug } from '../orgs/org-scope.js';
import { stringifyRaw } from '../raw-json.js';
import { createProject, listProjects, updateProject } from './projects.service.js';

export function projectRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs/:slug/projects', async (request, reply) =>
        reply.status(201).send(await createProject(ctx, callerOf(request), pathSlug(request), createProjectBody.parse(request.body))),
      );
      scope.get('/orgs/:slug/projects', async (request) => listProjects(ctx, callerOf(request), pathSlug(request)));
      scope.get('/orgs/:slug/projects/:projectId', async (request, reply) => {
        const scopeOrgId = await orgIdBySlug(ctx, pathSlug(request));
        const { board } = await readBoard(ctx, request.principal, pathId(request, 'projectId'), { scopeOrgId });
        return reply.type('application/json; charset=utf-8').send(stringifyRaw(board));
      });
      scope.patch('/orgs/:slug/projects/:projectId', async (request) => {
        const changes = updateProjectBody.parse(request.body);
        const caller = callerOf(request, await orgIdBySlug(ctx, pathSlug(request)));
        return updateProject(ctx, caller, pathId(request, 'projectId'), changes);
      });
    });
}
