import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { showsSomething } from '../../../../shared/shown-text.js';
import { type LabelJson, type MemberJson, type TaskFlowClient, TaskFlowError, type TaskJson } from '../../../index.js';
import { useUnsavedForm } from '../app/leave-guard.js';
import { useConnectionState } from '../app/live.js';
import { notify } from '../common/notices.js';
import { FORMER_MEMBER } from './assignee.js';
import { PRIORITIES } from './board-view.js';
import { type Conflict, ConflictView } from './ConflictView.js';
import { LabelPicker } from './LabelPicker.js';
import { deleteRefusal, editRefusal } from './refusals.js';
import { type Draft, type DraftField, draftOf, patchOf, rebase } from './task-draft.js';

export interface CardDialogProps {
  client: TaskFlowClient;
  projectId: string;
  /** The card as the board shows it now; undefined once it was deleted. */
  task: TaskJson | undefined;
  /** The org's members; null until they are read. */
  members: MemberJson[] | null;
  labels: LabelJson[];
  readOnly: boolean;
  onCreateLabel(input: { name: string; color: string }): Promise<LabelJson>;
  onClose(): void;
}

/**
 * A card's details, edited as a form and saved as one `task:update` with the version the form
 * started from (`baseVersion`). If a teammate changed the same fields meanwhile, the server says
 * CONFLICT and both versions are shown to choose from. Teammates see "editing" on the card while
 * this is open (unless it is read-only). A save or delete still unanswered when the dialog closes
 * (sent once the connection is back) is told as a notice if it is refused.
 */
export function CardDialog({ client, projectId, task, members, labels, readOnly, onCreateLabel, onClose }: CardDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [taskId] = useState(task?.id);
  const [base, setBase] = useState<TaskJson | undefined>(task);
  const [draft, setDraft] = useState<Draft | undefined>(task && draftOf(task));
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // Escape on a form with unsaved changes asks first: a second Escape discards them.
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  const memberMap = new Map((members ?? []).map((member) => [member.user.id, member]));
  const labelMap = new Map(labels.map((label) => [label.id, label]));
  // Whether the dialog is still shown: an answer that comes after it closed has no form to go to.
  const shown = useRef(true);

  // Opened to edit, the focus is in its title, so that typing goes there; to read, on its heading,
  // which a screen reader then says (the browser's own pick, the first button, was "Copy link":
  // each Space copied the link again).
  const titleInput = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    shown.current = true;
    dialog.current?.showModal();
    (readOnly ? heading.current : titleInput.current)?.focus();
    return () => void (shown.current = false);
  }, []);

  // Only someone who may edit the card is shown to teammates as editing it.
  useEffect(() => {
    if (!taskId || readOnly) return;
    void client.setPresence(projectId, taskId).catch(() => undefined);
    return () => void client.setPresence(projectId, null).catch(() => undefined);
  }, [client, projectId, taskId, readOnly]);

  // A teammate's change while the form is untouched: show it, so the next save starts from it.
  const untouched = base !== undefined && draft !== undefined && Object.keys(patchOf(draft, base)).length === 0;
  useEffect(() => {
    if (task && untouched && task.version !== base?.version) {
      setBase(task);
      setDraft(draftOf(task));
    }
  }, [task, untouched, base]);

  const unsaved = base !== undefined && draft !== undefined && !untouched && !busy; // a save in flight is told in a notice if it is refused
  useUnsavedForm(unsaved && !readOnly);
  const connection = useConnectionState(client);

  if (!task || !base || !draft) {
    // What the user typed is theirs to keep: shown to copy, since no card is left to save it to.
    const changed = unsaved ? patchOf(draft, base) : {};
    const typed = 'title' in changed || 'description' in changed ? draft : null;
    return (
      <dialog ref={dialog} className="card-dialog" aria-label="Card" onCancel={onClose}>
        <div className="stack">
          <p role="alert">
            {unsaved
              ? `This card was deleted (by a teammate, or by you elsewhere): your changes could not be saved.${typed ? ' What you typed is below, to copy.' : ''}`
              : 'This card was deleted.'}
          </p>
          {typed && (
            <>
              <label>
                Title
                <input value={typed.title} readOnly />
              </label>
              <label>
                Description
                <textarea value={typed.description} readOnly rows={4} />
              </label>
            </>
          )}
          <footer className="row dialog-footer">
            <button type="button" onClick={onClose}>
              Close
            </button>
          </footer>
        </div>
      </dialog>
    );
  }

  const set = <F extends DraftField>(field: F, value: Draft[F]) => {
    setDraft({ ...draft, [field]: value });
    setConfirmDiscard(false);
  };

  async function save(from: TaskJson) {
    // `required` takes spaces (or invisible characters) for a title; the server would refuse it, in its own words.
    if (!showsSomething(draft!.title)) return setError('A card needs a title.');
    const patch = patchOf(draft!, base!);
    if (Object.keys(patch).length === 0) return onClose();
    setBusy(true);
    setError(null);
    const title = task!.title;
    try {
      await client.updateTask({ taskId: task!.id, patch, baseVersion: from.version });
      if (shown.current) onClose();
    } catch (failure) {
      if (!shown.current) return notify(editRefusal(title, failure as Error));
      setBusy(false);
      const conflict = failure instanceof TaskFlowError ? failure.conflict : undefined;
      if (conflict) {
        const fields = (conflict.fields ?? Object.keys(patch)).filter((field): field is DraftField => field in draft!);
        setConflict({ theirs: conflict.task, fields });
        return;
      }
      setError((failure as Error).message);
    }
  }

  function keepTheirs() {
    const theirs = conflict!.theirs;
    setDraft(rebase(draft!, base!, theirs, conflict!.fields));
    setBase(theirs);
    setConflict(null);
    notify('Kept their version.', 'info');
  }

  /** Deletes the card as the form shows it: a teammate's change since (which the form may not show) is a conflict. */
  async function remove() {
    setBusy(true);
    const title = task!.title;
    try {
      await client.deleteTask({ taskId: task!.id, baseVersion: base!.version });
      if (shown.current) onClose();
    } catch (failure) {
      if (!shown.current) return notify(deleteRefusal(title, failure as Error));
      setBusy(false);
      setConfirmDelete(false);
      const theirs = failure instanceof TaskFlowError ? failure.conflict?.task : undefined;
      if (!theirs) return setError((failure as Error).message);
      setBase(theirs);
      setDraft(draftOf(theirs));
      setError('A teammate changed this card since you opened it: here it is as it stands now. Delete it again if you still mean to.');
    }
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save(base);
  };
  const changedMeanwhile = task.version !== base.version && !conflict;

  return (
    <dialog
      ref={dialog}
      className="card-dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        event.preventDefault();
        // The browser may refuse to keep the dialog open (no click or key since it last did): it closes.
        if (unsaved && !readOnly && !confirmDiscard && event.cancelable) setConfirmDiscard(true);
        else onClose();
      }}
    >
      <form onSubmit={submit} className="stack">
        <header className="dialog-header">
          <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
            {readOnly ? task.title : 'Edit card'}
          </h2>
          <span className="spacer" />
          {canCopyLinks() && (
            <button type="button" className="link-button" onClick={() => copyLink(task.title)}>
              Copy link
            </button>
          )}
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {changedMeanwhile && (
          <p className="hint warning">This card was changed since you opened it (by a teammate, or by you elsewhere).</p>
        )}
        {readOnly && unsaved && (
          <p className="hint warning" role="alert">
            You can no longer edit this board (your role changed, or it was archived): your changes here were not saved.
          </p>
        )}
        {conflict && (
          <ConflictView
            conflict={conflict}
            draft={draft}
            members={memberMap}
            labels={labelMap}
            busy={busy}
            onUseMine={() => {
              const theirs = conflict.theirs;
              setConflict(null);
              void save(theirs);
            }}
            onKeepTheirs={keepTheirs}
          />
        )}
        <fieldset disabled={readOnly || busy} className="stack">
          <label>
            Title
            <input ref={titleInput} value={draft.title} onChange={(e) => set('title', e.target.value)} required maxLength={500} />
          </label>
          <label>
            Description
            <textarea value={draft.description} onChange={(e) => set('description', e.target.value)} rows={4} maxLength={20_000} />
          </label>
          <div className="grid-2">
            <label>
              Priority
              <select value={draft.priority} onChange={(e) => set('priority', Number(e.target.value))}>
                {PRIORITIES.map((name, value) => (
                  <option key={value} value={value}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Due date
              <input type="date" value={draft.dueDate} onChange={(e) => set('dueDate', e.target.value)} />
            </label>
          </div>
          <label>
            Assignee
            <select value={draft.assigneeId} onChange={(e) => set('assigneeId', e.target.value)}>
              <option value="">Unassigned</option>
              {members && draft.assigneeId && !memberMap.has(draft.assigneeId) && <option value={draft.assigneeId}>{FORMER_MEMBER}</option>}
              {(members ?? []).map((member) => (
                <option key={member.user.id} value={member.user.id}>
                  {member.user.name}
                </option>
              ))}
            </select>
          </label>
          <LabelPicker labels={labels} selected={draft.labelIds} onChange={(ids) => set('labelIds', ids)} onCreate={onCreateLabel} />
        </fieldset>
        {busy && connection !== 'live' && (
          <p className="hint warning" role="status">
            Waiting for the connection: this is sent as soon as it is back.
          </p>
        )}
        {confirmDiscard && (
          <p className="hint warning" role="alert">
            Your changes are not saved. Press Escape again to discard them.
          </p>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {!readOnly && (
          <footer className="row dialog-footer">
            <button type="submit" className="primary" disabled={busy || conflict !== null}>
              Save
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <span className="spacer" />
            {confirmDelete ? (
              <button type="button" className="danger-button" disabled={busy} onClick={remove}>
                Really delete
              </button>
            ) : (
              <button type="button" className="link-button danger" onClick={() => setConfirmDelete(true)}>
                Delete card
              </button>
            )}
          </footer>
        )}
      </form>
    </dialog>
  );
}

/** The clipboard is the browser's to give: on a page served over https or from localhost only. */
const canCopyLinks = () => window.isSecureContext && !!navigator.clipboard;

/** Copies the page's address, which names the open card (`board-address.ts`). */
function copyLink(title: string): void {
  navigator.clipboard.writeText(location.href).then(
    () => notify(`The link to “${title}” was copied.`, 'info'),
    () => notify('The link could not be copied: copy it from the address bar.'),
  );
}
