/** Initials on a colour taken from the id, so a person looks the same everywhere. */
export function Avatar({ id, name, bot = false, size = 'md' }: { id: string; name: string; bot?: boolean; size?: 'sm' | 'md' }) {
  const initials =
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((word) => word[0]!.toUpperCase())
      .join('') || '?';
  return (
    <span
      className={`avatar avatar-${size}${bot ? ' avatar-bot' : ''}`}
      style={{ background: colourOf(id) }}
      title={name}
      aria-label={name}
    >
      {bot ? '⚙' : initials}
    </span>
  );
}

function colourOf(id: string): string {
  let hash = 0x811c9dc5; // FNV-1a: ids that differ in one character still get far-apart hues
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return `hsl(${hash % 360} 55% 42%)`;
}
