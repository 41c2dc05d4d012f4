import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { forbidden } from '../errors.js';
import { authenticated } from '../http/route-kit.js';

export interface TenantSummary {
  id: string;
  slug: string;
  name: string;
  plan: string;
  createdAt: string;
  memberCount: number;
  projectCount: number;
}

/**
 * The super-admin view across every tenant: the one place that reads all orgs, with the filter
 * and row-level security off on purpose (the connection's own role). Super admin is a user flag
 * (or `SUPER_ADMIN_EMAILS`), never an org role.
 */
export function adminRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) =>
    authenticated(ctx, app, (scope) => {
      scope.get('/admin/tenants', async (request): Promise<TenantSummary[]> => {
        const principal = request.principal;
        if (principal.kind !== 'user' || !principal.isSuperAdmin) throw forbidden('super admins only');
        const rows = await ctx.orm.em
          .getConnection()
          .execute<Array<{ id: string; slug: string; name: string; plan: string; created_at: Date; members: number; projects: number }>>(
            `select o.id, o.slug, o.name, o.plan, o.created_at,
                  (select count(*)::int from memberships m where m.org_id = o.id) as members,
                  (select count(*)::int from projects p where p.org_id = o.id) as projects
             from organizations o order by o.created_at, o.id`,
          );
        return rows.map((row) => ({
          id: row.id,
          slug: row.slug,
          name: row.name,
          plan: row.plan,
          createdAt: new Date(row.created_at).toISOString(),
          memberCount: row.members,
          projectCount: row.projects,
        }));
      });
    });
}
