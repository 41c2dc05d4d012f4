import { useRef, useState } from 'react';
import type { ProjectJson } from '../../../index.js';
import { api } from '../app/api.js';
import { notify } from '../common/notices.js';

/**
 * A member renames the board, archives it (read-only for everyone, and off the org's list of
 * projects) or restores it. The board shows each change when its `project.updated` event comes,
 * as teammates see it; a refusal is told in a notice.
 */
export function BoardActions({ slug, project }: { slug: string; project: ProjectJson }) {
  const [renaming, setRenaming] = useState(false);
  const [confirmArchive, setConfirmArchive] = useState(false);
  const [draft, setDraft] = useState(project.name);
  const renameButton = useRef<HTMLButtonElement>(null);
  const change = async (what: string, patch: Parameters<typeof api.updateProject>[2]) => {
    try {
      await api.updateProject(slug, project.id, patch);
    } catch (failure) {
      notify(`Could not ${what} the board: ${(failure as Error).message}`);
    }
  };
  const stopRenaming = () => {
    setRenaming(false);
    requestAnimationFrame(() => renameButton.current?.focus());
  };

  if (project.status === 'archived')
    return (
      <button type="button" onClick={() => void change('restore', { status: 'active' })}>
        Restore board
      </button>
    );
  if (renaming)
    return (
      <form
        className="row"
        aria-label="Rename the board"
        onSubmit={(event) => {
          event.preventDefault();
          const name = draft.trim();
          stopRenaming();
          if (name && name !== project.name) void change('rename', { name });
        }}
      >
        <input
          aria-label="Board name"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && stopRenaming()}
          required
          maxLength={200}
          autoFocus
        />
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={stopRenaming}>
          Cancel
        </button>
      </form>
    );
  return (
    <span className="row">
      <button
        type="button"
        ref={renameButton}
        onClick={() => {
          setDraft(project.name);
          setRenaming(true);
        }}
      >
        Rename board
      </button>
      {confirmArchive ? (
        <button
          type="button"
          className="danger-button"
          onClick={() => void change('archive', { status: 'archived' }).then(() => setConfirmArchive(false))}
        >
          Really archive this board
        </button>
      ) : (
        <button type="button" onClick={() => setConfirmArchive(true)}>
          Archive board
        </button>
      )}
    </span>
  );
}
