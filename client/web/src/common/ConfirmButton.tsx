import { useEffect, useRef, useState } from 'react';

/**
 * A button for what cannot be undone, which asks once more: the first press shows `confirmLabel`
 * in its place, with the focus on it; pressing that runs `onConfirm` (once: a second press while it
 * runs does nothing; its failure is the caller's to tell), and the first button comes back, with
 * the focus where nothing else took it. Escape, or the focus going elsewhere, puts the first
 * button back (Escape with the focus on it).
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
  const running = useRef(false); // read by handlers of any render, as the state may lag a press behind
  const first = useRef<HTMLButtonElement>(null);
  const wasArmed = useRef(false);
  const refocus = useRef(false);
  useEffect(() => {
    // Back to the first button after Escape, or after the action where nothing else took the focus;
    // never as the button first appears (a list read again would pull the focus to it).
    const lost = !document.activeElement || document.activeElement === document.body;
    if (wasArmed.current && !armed && (refocus.current || lost)) first.current?.focus();
    wasArmed.current = armed;
    refocus.current = false;
  }, [armed]);

  const confirm = async () => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try {
      await onConfirm();
    } catch {
      // Told by `onConfirm`'s caller (a notice, a form's error); the question is taken back all the same.
    } finally {
      running.current = false;
      setBusy(false);
      setArmed(false);
    }
  };

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
      onBlur={() => !running.current && setArmed(false)}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        event.stopPropagation();
        refocus.current = true;
        setArmed(false);
      }}
      onClick={() => void confirm()}
    >
      {confirmLabel}
    </button>
  );
}
