import { roleCan } from '../../../../shared/roles.js';
import { type FormEvent, useEffect, useState } from 'react';
import type { TaskFlowClient } from '../../../index.js';
import { api, type Membership } from '../app/api.js';
import { Link, navigate, paths } from '../app/router.js';
import { useResource } from '../app/use-resource.js';
import { ErrorState } from '../common/ErrorState.js';
import { ScreenHeading } from '../common/ScreenHeading.js';

/**
 * The org's projects (boards), kept current as teammates create and archive them (renamed or
 * restored ones as the tab comes back to view); members may create one. Archived boards are listed apart, folded: each opens read-only, to be restored there.
 */
export function ProjectsScreen({ membership, client }: { membership: Membership; client: TaskFlowClient | null }) {
  const { slug, id: orgId } = membership.org;
  const projects = useResource(`projects:${slug}`, () => api.projects(slug));
  const canCreate = roleCan(membership.role, 'projects:write');
  const { reload } = projects;

  useEffect(
    () =>
      client?.on('org', (event) => {
        if (event.orgId === orgId && (event.type === 'project.created' || event.type === 'project.archived')) reload();
      }),
    [client, orgId, reload],
  );
  // A board renamed or restored is told only to those on it (`project.updated`): read again as the tab comes back.
  useEffect(() => {
    const again = () => document.visibilityState === 'visible' && reload();
    document.addEventListener('visibilitychange', again);
    return () => document.removeEventListener('visibilitychange', again);
  }, [reload]);

  if (projects.error) return <ErrorState title="Could not load the projects">{projects.error.message}</ErrorState>;
  const active = (projects.data ?? []).filter((project) => project.status === 'active');
  const archived = (projects.data ?? []).filter((project) => project.status === 'archived');

  return (
    <section className="page">
      <ScreenHeading>{membership.org.name}</ScreenHeading>
      <h2 className="section-title">Projects</h2>
      {projects.loading && !projects.data ? (
        <p className="hint">Loading…</p>
      ) : active.length === 0 ? (
        <p className="hint">
          {archived.length > 0
            ? `No active projects${canCreate ? ': create one below.' : '.'}`
            : `No projects yet${canCreate ? ': create the first one below.' : '.'}`}
        </p>
      ) : (
        <ul className="project-list" aria-label="Projects">
          {active.map((project) => (
            <li key={project.id}>
              <Link to={paths.board(slug, project.id)} className="project-card">
                <strong>{project.name}</strong>
                {project.description && <span className="hint">{project.description}</span>}
              </Link>
            </li>
          ))}
        </ul>
      )}
      {canCreate && <NewProjectForm slug={slug} />}
      {archived.length > 0 && (
        <details className="archived-projects">
          <summary>Archived projects ({archived.length})</summary>
          <ul className="plain-list" aria-label="Archived projects">
            {archived.map((project) => (
              <li key={project.id}>
                <Link to={paths.board(slug, project.id)}>{project.name}</Link>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function NewProjectForm({ slug }: { slug: string }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const { project } = await api.createProject(slug, { name, ...(description ? { description } : {}) });
      navigate(paths.board(slug, project.id));
    } catch (failure) {
      setError((failure as Error).message);
    }
  }

  return (
    <form className="inline-form" onSubmit={submit} aria-label="New project">
      <input
        aria-label="Project name"
        placeholder="New project name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        maxLength={200}
      />
      <input
        aria-label="Description"
        placeholder="Description (optional)"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
      />
      <button type="submit" className="primary">
        Create project
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
