import { useEffect, useState } from 'react';
import type { LabelJson } from '../../../index.js';
import { api } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { chipColours, LABEL_COLOURS } from '../board/label-colours.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { focusById } from '../common/focus.js';
import { FormError, useFormAction } from '../common/forms.js';
import { notify } from '../common/notices.js';
import { SettingsSection } from './SettingsSection.js';

/**
 * The org's labels, which every board's cards share: members rename them, change their colour,
 * delete them (taken off every card) and add new ones; viewers see them.
 */
export function LabelsSection({ slug, canEdit }: { slug: string; canEdit: boolean }) {
  const labels = useResource(`labels:${slug}`, () => api.labels(slug));
  const list = labels.data ?? [];
  return (
    <SettingsSection id="labels-title" title="Labels">
      {labels.error && <p className="form-error">Could not load the labels: {labels.error.message}</p>}
      {!labels.error && list.length === 0 && <p className="hint">No labels yet{canEdit ? ': add one below, or from a card.' : '.'}</p>}
      {list.length > 0 && (
        <ul className="plain-list" aria-label="Labels">
          {list.map((label) =>
            canEdit ? (
              <LabelRow key={label.id} slug={slug} label={label} onChanged={labels.reload} />
            ) : (
              <li key={label.id}>
                <span className="label-chip" style={chipColours(label.color)}>
                  {label.name}
                </span>
              </li>
            ),
          )}
        </ul>
      )}
      {canEdit && <NewLabelForm slug={slug} colour={LABEL_COLOURS[list.length % LABEL_COLOURS.length]!} onMade={labels.reload} />}
    </SettingsSection>
  );
}

/** A label's name and colour, saved together once changed; deleting it asks first. */
function LabelRow({ slug, label, onChanged }: { slug: string; label: LabelJson; onChanged: () => void }) {
  const [name, setName] = useState(label.name);
  const [color, setColor] = useState(label.color);
  useEffect(() => {
    setName(label.name);
    setColor(label.color);
  }, [label.name, label.color]);
  const form = useFormAction();
  const changed = name.trim() !== label.name || color.toLowerCase() !== label.color.toLowerCase();
  const save = async () => {
    await api.updateLabel(slug, label.id, {
      ...(name.trim() !== label.name ? { name: name.trim() } : {}),
      ...(color.toLowerCase() !== label.color.toLowerCase() ? { color } : {}),
    });
    onChanged();
  };
  const remove = async () => {
    try {
      await api.deleteLabel(slug, label.id);
      notify(`The label ${label.name} was deleted, and taken off its cards.`, 'info');
      onChanged();
      focusById('labels-title'); // its row goes
    } catch (failure) {
      notify(`Could not delete the label ${label.name}: ${(failure as Error).message}`);
    }
  };
  return (
    <li>
      <form className="row label-row" onSubmit={form.submit(save)} aria-label={`Label ${label.name}`}>
        <span className="label-chip" style={chipColours(color)}>
          {name || label.name}
        </span>
        <input
          aria-label={`Name of the label ${label.name}`}
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={100}
        />
        <input type="color" aria-label={`Colour of the label ${label.name}`} value={color} onChange={(e) => setColor(e.target.value)} />
        {changed && (
          <button type="submit" className="primary" disabled={form.busy}>
            Save
          </button>
        )}
        <ConfirmButton
          label="Delete"
          ariaLabel={`Delete the label ${label.name}`}
          confirmLabel={`Really delete ${label.name}, from every card`}
          onConfirm={remove}
        />
        <FormError error={form.error} />
      </form>
    </li>
  );
}

function NewLabelForm({ slug, colour, onMade }: { slug: string; colour: string; onMade: () => void }) {
  const [name, setName] = useState('');
  const [color, setColor] = useState(colour);
  useEffect(() => setColor(colour), [colour]);
  const form = useFormAction();
  const create = async () => {
    await api.createLabel(slug, { name: name.trim(), color });
    setName('');
    onMade();
  };
  return (
    <form className="inline-form" onSubmit={form.submit(create)} aria-label="New label">
      <input
        aria-label="New label name"
        placeholder="New label"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        maxLength={100}
      />
      <input type="color" aria-label="New label colour" value={color} onChange={(e) => setColor(e.target.value)} />
      <button type="submit" className="primary" disabled={form.busy || !name.trim()}>
        Add label
      </button>
      <FormError error={form.error} />
    </form>
  );
}
