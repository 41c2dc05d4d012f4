import type { ConnectionState } from '../../../index.js';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  resyncing: 'Resyncing…',
  closed: 'Offline',
};

/** Whether what the page shows is live: the SDK's connection state. */
export function ConnectionBadge({ state }: { state: ConnectionState }) {
  return (
    <span className={`connection connection-${state}`} data-state={state} role="status" aria-label={`Connection: ${LABELS[state]}`}>
      <span className="connection-dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  );
}
