import type { ReactNode } from 'react';

/**
 * A table of records, scrolling sideways in its own box on a phone: its column headings, then
 * `children`'s rows. With `actions`, a last column for each row's buttons, named for screen readers only.
 */
export function DataTable({
  label,
  columns,
  actions = false,
  children,
}: {
  label?: string;
  columns: string[];
  actions?: boolean;
  children: ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table className="data-table" aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
