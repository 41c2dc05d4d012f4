/**
 * Moves the focus to the element with this id once the page has re-rendered: where a keyboard user
 * goes on from after the control they used went away (a heading with `tabIndex={-1}`, say).
 */
export function focusById(id: string): void {
  requestAnimationFrame(() => document.getElementById(id)?.focus());
}
