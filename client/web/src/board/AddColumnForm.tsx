import { type FormEvent, useState } from 'react';
import { showsSomething } from '../../../../shared/shown-text.js';

/** A new column at the end of the board. */
export function AddColumnForm({ onCreate }: { onCreate(name: string): Promise<void> }) {
  const [name, setName] = useState('');
  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = name.trim();
    if (!showsSomething(text)) return; // spaces or invisible characters: nothing is sent
    setName('');
    await onCreate(text);
  }
  return (
    <form className="column column-new" onSubmit={submit}>
      <input
        aria-label="New column name"
        placeholder="+ Add a column"
        value={name}
        maxLength={200}
        onChange={(e) => setName(e.target.value)}
      />
    </form>
  );
}
