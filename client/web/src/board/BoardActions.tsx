import { useEffect, useRef, useState } from 'react';
import type { ProjectJson } from '../../../index.js';
import { api } from '../app/api.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { focusById } from '../common/focus.js';
import { notify } from '../common/notices.js';

/**
 * A member renames the board, archives it (read-only for everyone, and off the org's list of
 * projects) or restores it. The board shows each change when its `project.updated` event comes,
 * as teammates see it, and the focus then goes to the button that takes its place; a refusal is
 * told in a notice.
 */
export function BoardActions({ slug, project }: { slug: string; project: ProjectJson }) {
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState(project.name);
  const focusAfterStatusChange = useRef(false);
  useEffect(() => {
    if (!focusAfterStatusChange.current) return;
    focusAfterStatusChange.current = false;
    focusById(project.status === 'archived' ? 'restore-board' : 'rename-board');
  }, [project.status]);

  const updateBoard = async (what: string, patch: Parameters<typeof api.updateProject>[2]) => {
    focusAfterStatusChange.current = !!patch.status; // its event may come before the answer
    try {
      await api.updateProject(slug, project.id, patch);
    } catch (failure) {
      focusAfterStatusChange.current = false;
      notify(`Could not ${what} the board: ${(failure as Error).message}`);
    }
  };
  const stopRenaming = () => {
    setRenaming(false);
    focusById('rename-board');
  };

  if (project.status === 'archived')
    return (
      <button type="button" id="restore-board" onClick={() => void updateBoard('restore', { status: 'active' })}>
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
          if (name !== project.name) void updateBoard('rename', { name });
        }}
      >
        <input
          aria-label="Board name"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && stopRenaming()}
          required
          pattern=".*\S.*"
          title="A name, not only spaces"
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
        id="rename-board"
        onClick={() => {
          setDraft(project.name);
          setRenaming(true);
        }}
      >
        Rename board
      </button>
      <ConfirmButton
        label="Archive board"
        confirmLabel="Really archive this board"
        onConfirm={() => updateBoard('archive', { status: 'archived' })}
        danger={false}
      />
    </span>
  );
}
