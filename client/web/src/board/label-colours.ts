/** The colours new labels take in turn. */
export const LABEL_COLOURS = ['#d73a4a', '#0e8a16', '#1d76db', '#fbca04', '#5319e7', '#e99695', '#006b75'];

/**
 * A label chip's colours: the label's own as the background, and black or white text, whichever
 * contrasts more with it (WCAG's relative luminance): white on a yellow label read at 1.55:1.
 */
export function chipColours(background: string): { background: string; color: string } {
  const channels = [1, 3, 5].map((at) => Number.parseInt(background.slice(at, at + 2), 16) / 255);
  if (channels.some(Number.isNaN)) return { background, color: 'white' };
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const onWhite = 1.05 / (luminance + 0.05);
  const onBlack = (luminance + 0.05) / 0.05;
  return { background, color: onBlack > onWhite ? '#111' : 'white' };
}
