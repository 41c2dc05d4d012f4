import type { ReactNode } from 'react';

/** One section of the settings page, named by its heading, which takes the focus where a control of it went away (`focusById(id)`). */
export function SettingsSection({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="stack settings-section" aria-labelledby={id}>
      <h2 className="section-title" id={id} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </section>
  );
}
