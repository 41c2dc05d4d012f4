import type { ReactNode } from 'react';

/** A screen that could not be shown: what happened, and a way on. */
export function ErrorState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="error-state" role="alert">
      <h2>{title}</h2>
      {children}
    </div>
  );
}
