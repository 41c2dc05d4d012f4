/** Initials on a colour taken from the id, so a person looks the same everywhere. */
export function Avatar({
  id,
  name,
  bot = false,
  size = 'md',
  decorative = false,
}: {
  id: string;
  name: string;
  bot?: boolean;
  size?: 'sm' | 'md';
  /** Beside the name in words: hidden from assistive technology, which would say the name twice. */
  decorative?: boolean;
}) {
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
      {...(decorative ? { 'aria-hidden': true } : { role: 'img', 'aria-label': name })}
    >
      {bot ? '⚙' : initials}
    </span>
  );
}

/** Distinct at a glance (a third of the hue circle reads as "green"). */
const PALETTE = ['#4f46e5', '#c2410c', '#0f766e', '#be185d', '#1d4ed8', '#7c3aed', '#b45309', '#15803d', '#0369a1', '#9f1239'];

function colourOf(id: string): string {
  let hash = 0x811c9dc5; // FNV-1a
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b) >>> 0; // FNV's low bits mix poorly: mix the high ones in
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}
