import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { ColumnJson } from '../../../index.js';

/**
 * Asks before a column is deleted. An empty one only needs a yes; one holding cards asks which
 * other column they go to (`moveTasksTo`), the one to its left by default (else the one to its right).
 */
export function DeleteColumnDialog({
  column,
  count,
  columns,
  onDelete,
  onClose,
}: {
  column: ColumnJson;
  /** How many cards it holds. */
  count: number;
  /** The board's columns, in order, this one among them. */
  columns: ColumnJson[];
  onDelete(moveTasksTo: string | undefined): void;
  onClose(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const index = columns.findIndex((c) => c.id === column.id);
  const others = columns.filter((c) => c.id !== column.id);
  const neighbour = columns[index - 1] ?? columns[index + 1];
  const [chosen, setChosen] = useState(neighbour?.id ?? '');
  // A column chosen and then deleted by a teammate meanwhile is no choice any more.
  const target = others.some((c) => c.id === chosen) ? chosen : (neighbour?.id ?? others[0]?.id ?? '');

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (count > 0 && !target) return;
    onDelete(count > 0 ? target : undefined);
  };

  return (
    <dialog
      ref={dialog}
      className="card-dialog column-dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={submit} className="stack">
        <header className="dialog-header">
          <h2 id={`${id}-title`}>Delete column “{column.name}”?</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {count === 0 ? (
          <p>It holds no cards.</p>
        ) : others.length === 0 ? (
          <p className="form-error" role="alert">
            It holds {count === 1 ? 'a card' : `${count} cards`} and is the only column: add another column for them first.
          </p>
        ) : (
          <label>
            {count === 1 ? 'Its card goes to' : `Its ${count} cards go to`}
            <select value={target} onChange={(e) => setChosen(e.target.value)}>
              {others.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <footer className="row dialog-footer">
          <button type="submit" className="danger-button" disabled={count > 0 && !target}>
            Delete column
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </footer>
      </form>
    </dialog>
  );
}
