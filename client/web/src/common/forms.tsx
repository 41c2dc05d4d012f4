import { type FormEvent, useState } from 'react';

/**
 * A form's submission: `busy` while its action runs, and the refusal's message as `error`. With
 * `leaving`, the form stays busy once the action succeeds: the page is about to change.
 */
export function useFormAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<void>, { leaving = false } = {}): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await action();
      if (!leaving) setBusy(false);
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  }

  /** The form's `onSubmit`: runs `action` instead of the browser's submission. */
  const submit = (action: () => Promise<void>, options?: { leaving?: boolean }) => (event: FormEvent) => {
    event.preventDefault();
    void run(action, options);
  };

  return { error, busy, run, submit, clearError: () => setError(null) };
}

/** A form's refusal, announced to screen readers. */
export function FormError({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {error}
    </p>
  );
}

/** A field for a password to set: 8 to 200 characters, as the server asks. */
export function NewPasswordField({
  value,
  onChange,
  label = 'New password',
}: {
  value: string;
  onChange: (value: string) => void;
  label?: string;
}) {
  return (
    <label>
      {label}
      <input
        type="password"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        autoComplete="new-password"
        minLength={8}
        maxLength={200}
        required
      />
    </label>
  );
}
