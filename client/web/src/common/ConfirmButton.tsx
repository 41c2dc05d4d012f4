import { useEffect, useRef, useState } from 'react';

/**
 * A button for what cannot be undone, which asks once more: the first press shows `confirmLabel`
 * in its place, with the focus on it; pressing that runs `onConfirm` (the button disabled until it
 * settles, so a double press acts once), and the first button comes back, with the focus where
 * nothing else took it. Escape, or the focus going elsewhere, puts the first button back (Escape
 * with the focus on it).
 */
export function ConfirmButton({
  label,
  confirmLabel,
  ariaLabel,
  onConfirm,
  danger = true,
}: {
  label: string;
  confirmLabel: string;
  /** The first button's accessible name, where `label` alone does not say which thing it acts on. */
  ariaLabel?: string;
  onConfirm: () => Promise<unknown> | void;
  danger?: boolean;
}) {
  const [armed, setArmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    // Back to the first button after Escape, or after the action where nothing else took the focus.
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!armed && (refocus.current || lost)) first.current?.focus();
    refocus.current = false;
  }, [armed]);

  const className = danger ? 'danger-button' : undefined;
  if (!armed)
    return (
      <button type="button" ref={first} className={className} aria-label={ariaLabel} onClick={() => setArmed(true)}>
        {label}
      </button>
    );
  return (
    <button
      type="button"
      className={className}
      disabled={busy}
      autoFocus
      onBlur={() => !busy && setArmed(false)}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        event.stopPropagation();
        refocus.current = true;
        setArmed(false);
      }}
      onClick={async () => {
        setBusy(true);
        try {
          await onConfirm();
        } finally {
          setBusy(false);
          setArmed(false);
        }
      }}
    >
      {confirmLabel}
    </button>
  );
}
