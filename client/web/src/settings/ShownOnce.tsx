import { useEffect, useRef, useState } from 'react';
import { focusById } from '../common/focus.js';

/**
 * A secret the server answers once (an API key, a webhook's signing secret): shown selected, with a
 * button that copies it, until the user says they have it (the focus then goes to `returnFocusTo`).
 * It is not kept anywhere else.
 */
export function ShownOnce({
  label,
  value,
  onDone,
  returnFocusTo,
}: {
  label: string;
  value: string;
  onDone: () => void;
  returnFocusTo: string;
}) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, []);
  const copy = async () => {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false); // no clipboard here (an insecure page): the selected text can be copied by hand
    }
  };
  return (
    <div className="shown-once" role="group" aria-label={label}>
      <p>
        <strong>{label}</strong>: copy it now, it will not be shown again.
      </p>
      <div className="row">
        <input ref={field} readOnly value={value} aria-label={label} spellCheck={false} className="secret" />
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button
          type="button"
          className="primary"
          onClick={() => {
            onDone();
            focusById(returnFocusTo);
          }}
        >
          Done
        </button>
      </div>
    </div>
  );
}
