import type { Viewer } from '../../../index.js';
import { Avatar } from '../common/Avatar.js';

/** Who is looking at the board now (bots included). */
export function PresenceBar({ viewers }: { viewers: Viewer[] }) {
  return (
    <ul className="presence" aria-label="On this board">
      {viewers.map((viewer) => (
        <li key={`${viewer.kind}:${viewer.id}`} data-viewer={viewer.name}>
          <Avatar id={viewer.id} name={viewer.kind === 'bot' ? `${viewer.name} (bot)` : viewer.name} bot={viewer.kind === 'bot'} />
        </li>
      ))}
    </ul>
  );
}
