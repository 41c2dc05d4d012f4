import { type FormEvent, useState } from 'react';
import { showsSomething } from '../../../../shared/shown-text.js';

/** "Add a card" at the foot of a column; stays open for the next one until Escape or Cancel. */
export function AddCardForm({ columnName, onCreate }: { columnName: string; onCreate(title: string): Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState('');

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!showsSomething(text)) return; // the server would refuse it, in its own words
    setTitle('');
    await onCreate(text);
  }

  if (!open)
    return (
      <button type="button" className="add-button" onClick={() => setOpen(true)} aria-label={`Add a card to ${columnName}`}>
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
        onChange={(e) => setTitle(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
      />
      <div className="row">
        <button type="submit" className="primary">
          Add
        </button>
        <button type="button" className="link-button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
