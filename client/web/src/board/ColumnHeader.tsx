import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import type { ColumnJson } from '../../../index.js';
import { showsSomething } from '../../../../shared/shown-text.js';

/** What a member can do to a column, from its header's menu; each resolves once the server has answered. */
export interface ColumnActions {
  rename(name: string): Promise<void>;
  setDone(isDone: boolean): Promise<void>;
  /** Undefined where the column cannot go further that way. */
  moveLeft?: () => Promise<void>;
  moveRight?: () => Promise<void>;
  /** Opens the confirmation (and the choice of where its cards go). */
  askDelete(): void;
}

/**
 * A column's name and card count; for members also a "Column actions for …" menu (rename, mark as
 * done, move left or right, delete). The menu is a menu button: Enter, Space or a click opens it
 * with the focus on its first item, arrows go through the items, Escape closes it. Rename edits
 * the name in place: Enter saves, Escape cancels.
 */
export function ColumnHeader({
  column,
  count,
  total,
  actions,
}: {
  column: ColumnJson;
  /** The cards shown; `total`, all of them (fewer shown while the board is filtered). */
  count: number;
  total: number;
  actions: ColumnActions | null;
}) {
  const [menuOpen, setMenuOpen] = useState(false);
  const [editing, setEditing] = useState(false);
  // A new name sent and not answered yet: shown meanwhile.
  const [pendingName, setPendingName] = useState<string | null>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const name = pendingName ?? column.name;

  const focusTrigger = () => requestAnimationFrame(() => trigger.current?.focus());
  const closeMenu = (refocus: boolean) => {
    setMenuOpen(false);
    if (refocus) focusTrigger();
  };

  useEffect(() => {
    if (!menuOpen) return;
    menu.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
    const outside = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setMenuOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [menuOpen]);

  if (editing && actions)
    return (
      <header className="column-header">
        <RenameForm
          name={name}
          onCancel={() => {
            setEditing(false);
            focusTrigger();
          }}
          onSave={(text) => {
            setEditing(false);
            focusTrigger();
            if (text === column.name) return;
            setPendingName(text);
            void actions.rename(text).finally(() => setPendingName(null));
          }}
        />
      </header>
    );

  const onMenuKey = (event: KeyboardEvent<HTMLUListElement>) => {
    const items = [...(menu.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const go = (index: number) => items[(index + items.length) % items.length]?.focus();
    if (event.key === 'ArrowDown') go(at + 1);
    else if (event.key === 'ArrowUp') go(at - 1);
    else if (event.key === 'Home') go(0);
    else if (event.key === 'End') go(items.length - 1);
    else if (event.key === 'Escape') closeMenu(true);
    else if (event.key === 'Tab') return setMenuOpen(false);
    else return;
    event.preventDefault();
  };
  // A moved column's node is moved in the page, which may take the focus off its button: put it back.
  const afterMove = () =>
    requestAnimationFrame(() => {
      if (document.activeElement === document.body) trigger.current?.focus();
    });
  // The rename form and the delete dialog take the focus themselves; the other items leave it on the menu button.
  const choose =
    (action: () => void, refocus = true) =>
    () => {
      closeMenu(refocus);
      action();
    };

  return (
    <header className="column-header">
      <h2>{name}</h2>
      <span className="column-header-end">
        <span className="count">
          <span aria-hidden="true">{count === total ? count : `${count} of ${total}`}</span>
          <span className="visually-hidden">{count === total ? cards(count) : `${count} of ${cards(total)} shown`}</span>
        </span>
        {actions && (
          <div className="column-actions" ref={wrapper}>
            <button
              ref={trigger}
              type="button"
              className="icon-button"
              aria-label={`Column actions for ${name}`}
              aria-haspopup="menu"
              aria-expanded={menuOpen}
              onClick={() => setMenuOpen((open) => !open)}
              onKeyDown={(event) => {
                if (event.key === 'ArrowDown' && !menuOpen) {
                  event.preventDefault();
                  setMenuOpen(true);
                }
              }}
            >
              ⋯
            </button>
            {menuOpen && (
              <ul ref={menu} className="column-menu" role="menu" aria-label={`Actions for ${name}`} onKeyDown={onMenuKey}>
                <MenuItem onClick={choose(() => setEditing(true), false)}>Rename</MenuItem>
                <MenuItem onClick={choose(() => void actions.setDone(!column.isDone))}>
                  {column.isDone ? 'Unmark as done' : 'Mark as done'}
                </MenuItem>
                <MenuItem disabled={!actions.moveLeft} onClick={choose(() => void actions.moveLeft?.().then(afterMove))}>
                  Move left
                </MenuItem>
                <MenuItem disabled={!actions.moveRight} onClick={choose(() => void actions.moveRight?.().then(afterMove))}>
                  Move right
                </MenuItem>
                <MenuItem danger onClick={choose(actions.askDelete, false)}>
                  Delete column…
                </MenuItem>
              </ul>
            )}
          </div>
        )}
      </span>
    </header>
  );
}

function MenuItem({ children, disabled, danger, onClick }: { children: string; disabled?: boolean; danger?: boolean; onClick(): void }) {
  return (
    <li role="none">
      <button type="button" role="menuitem" tabIndex={-1} className={danger ? 'danger' : undefined} disabled={disabled} onClick={onClick}>
        {children}
      </button>
    </li>
  );
}

/** The column's name in place, as a form: Enter saves, Escape (or Cancel) keeps the old one; a name that shows nothing is refused. */
function RenameForm({ name, onSave, onCancel }: { name: string; onSave(name: string): void; onCancel(): void }) {
  const [text, setText] = useState(name);
  const [error, setError] = useState<string | null>(null);
  const errorId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = text.trim();
    if (!showsSomething(trimmed)) return setError('A column needs a name.'); // spaces or invisible characters
    onSave(trimmed);
  };
  return (
    <form className="rename-column" onSubmit={submit} noValidate>
      <input
        autoFocus
        aria-label={`New name for ${name}`}
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        value={text}
        maxLength={200}
        onFocus={(e) => e.target.select()}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
        onKeyDown={(e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          onCancel();
        }}
      />
      {error && (
        <p id={errorId} className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A number of cards in words: "1 card", "3 cards". */
const cards = (n: number) => (n === 1 ? '1 card' : `${n} cards`);
