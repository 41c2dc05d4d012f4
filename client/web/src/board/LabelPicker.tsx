import { type KeyboardEvent, useState } from 'react';
import type { LabelJson } from '../../../index.js';
import { labelName } from '../../../../shared/shown-text.js';
import { notify } from '../common/notices.js';
import { chipColours, LABEL_COLOURS } from './label-colours.js';

/** The org's labels as toggles, and a way to make a new one (picked at once; a name the org has already picks that label). */
export function LabelPicker(props: {
  labels: LabelJson[];
  selected: string[];
  onChange(ids: string[]): void;
  onCreate(input: { name: string; color: string }): Promise<LabelJson>;
}) {
  const { labels, selected } = props;
  const [name, setName] = useState('');

  const toggle = (id: string) => props.onChange(selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id]);

  async function create() {
    const text = labelName(name);
    if (!text) return;
    const existing = labels.find((label) => label.name === text);
    if (existing) {
      setName('');
      if (!selected.includes(existing.id)) props.onChange([...selected, existing.id]);
      return;
    }
    try {
      const label = await props.onCreate({ name: text, color: LABEL_COLOURS[labels.length % LABEL_COLOURS.length]! });
      setName('');
      props.onChange([...selected, label.id]);
    } catch (failure) {
      notify(`Could not create the label: ${(failure as Error).message}`);
    }
  }

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter') return;
    event.preventDefault(); // not the dialog's submit
    void create();
  };

  return (
    <fieldset className="labels-field">
      <legend>Labels</legend>
      <div className="label-options">
        {labels.map((label) => (
          <label key={label.id} className="label-option">
            <input type="checkbox" checked={selected.includes(label.id)} onChange={() => toggle(label.id)} />
            <span className="label-chip" style={chipColours(label.color)}>
              {label.name}
            </span>
          </label>
        ))}
        <input
          className="new-label"
          aria-label="New label"
          placeholder="+ New label"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
          onKeyDown={onKeyDown}
        />
      </div>
    </fieldset>
  );
}
