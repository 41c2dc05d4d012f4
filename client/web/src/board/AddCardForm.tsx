import { type FormEvent, useEffect, useRef, useState } from 'react';
import { showsSomething } from '../../../../shared/shown-text.js';

/** "Add a card" at the foot of a column; stays open for the next one until Escape or Cancel. */
export function AddCardForm({ columnName, onCreate }: { columnName: string; onCreate(title: string): Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  // Closed by the keyboard or Cancel, the focus goes back to "Add a card" (it fell to the page's start).
  const addButton = useRef<HTMLButtonElement>(null);
  const closed = useRef(false);
  useEffect(() => {
    if (!open && closed.current) addButton.current?.focus();
  }, [open]);
  const close = () => {
    closed.current = true;
    setOpen(false);
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!showsSomething(text)) return setError('A card needs a title.'); // spaces or invisible characters: nothing is sent
    setTitle('');
    await onCreate(text);
  }

  if (!open)
    return (
      <button ref={addButton} type="button" className="add-button" onClick={() => setOpen(true)} aria-label={`Add a card to ${columnName}`}>
        + Add a card
      </button>
    );
  return (
    <form className="add-card" onSubmit={submit}>
      <input
        autoFocus
        aria-label={`New card in ${columnName}`}
        placeholder="Card title"
        value={title}
        maxLength={500}
        onChange={(e) => {
          setTitle(e.target.value);
          setError(null);
        }}
        onKeyDown={(e) => e.key === 'Escape' && close()}
      />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary">
          Add
        </button>
        <button type="button" className="link-button" onClick={close}>
          Cancel
        </button>
      </div>
    </form>
  );
}
