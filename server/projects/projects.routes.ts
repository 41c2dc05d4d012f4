import type { FastifyInstance } from 'fastify';
import { createProjectBody } from '../../shared/schemas.js';
import { readBoard } from '../board/board-read.js';
import type { AppContext } from '../context.js';
import { authenticated, pathId, pathSlug } from '../http/route-kit.js';
import { orgIdBySlug } from '../orgs/org-scope.js';
import { createProject, listProjects } from './projects.service.js';

export function projectRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.post('/orgs/:slug/projects', async (request, reply) =>
        reply.status(201).send(await createProject(ctx, request.principal, pathSlug(request), createProjectBody.parse(request.body))),
      );
      scope.get('/orgs/:slug/projects', async (request) => listProjects(ctx, request.principal, pathSlug(request)));
      scope.get('/orgs/:slug/projects/:projectId', async (request) => {
        const scopeOrgId = await orgIdBySlug(ctx, pathSlug(request));
        const { board } = await readBoard(ctx, request.principal, pathId(request, 'projectId', 'project'), { scopeOrgId });
        return board;
      });
    });
}
