import { TaskFlowError } from '../../../index.js';
import { refusalText } from '../common/refusal-text.js';

type Reasons = Readonly<Record<string, string>>;

// The page's client rejects what it holds unsent as it closes, at a sign-out of the user's own.
const UNSENT: Reasons = { DISCONNECTED: 'you signed out before it was sent' };
const ANY_CHANGE: Reasons = { ...UNSENT, FORBIDDEN: 'you may not change this board', NOT_FOUND: 'it was deleted meanwhile' };
// A move names its neighbours: one that went elsewhere meanwhile is refused as VALIDATION_FAILED.
const MOVE: Reasons = { ...ANY_CHANGE, VALIDATION_FAILED: 'the board changed meanwhile', CONFLICT: 'the board changed meanwhile' };
const EDIT: Reasons = { ...ANY_CHANGE, CONFLICT: 'a teammate changed it meanwhile' };

/** Why the server refused a change, in words; the server's (`refusalText`) for anything unforeseen. */
function why(failure: Error, reasons: Reasons): string {
  if (!(failure instanceof TaskFlowError)) return failure.message;
  return reasons[failure.code] ?? refusalText(failure) ?? failure.message;
}

/**
 * For a card's move the server refused; `onBoard`: whether the board held shows the card now
 * (undefined: the board is no longer held, left or dropped). A card refused NOT_FOUND that the
 * board no longer shows was deleted meanwhile: it is not back anywhere.
 */
export function moveRefusal(title: string, failure: Error, onBoard: boolean | undefined): string {
  if (!(failure instanceof TaskFlowError && failure.code === 'NOT_FOUND'))
    return `Move of “${title}” refused: ${why(failure, MOVE)}. It is back where it was.`;
  if (onBoard === false) return `Move of “${title}” refused: it was deleted meanwhile.`;
  if (onBoard) return `Move of “${title}” refused: the column it was moved to was deleted meanwhile. It is back where it was.`;
  return `Move of “${title}” refused: it, or the column it was moved to, was deleted meanwhile.`;
}

/** For a save refused after its dialog was closed (e.g. sent when the connection came back). */
export const editRefusal = (title: string, failure: Error) => `Your changes to “${title}” were not saved: ${why(failure, EDIT)}.`;

/** For a delete refused after its dialog was closed. */
export const deleteRefusal = (title: string, failure: Error) => `“${title}” was not deleted: ${why(failure, EDIT)}.`;

// A column's move names its neighbours, and its delete the column for its cards: either may be gone, too.
const COLUMN_EDIT: Reasons = { ...ANY_CHANGE, CONFLICT: 'the board changed meanwhile' };
const COLUMN_PLACE: Reasons = {
  ...COLUMN_EDIT,
  NOT_FOUND: 'it, or a column it names, was deleted meanwhile',
  VALIDATION_FAILED: 'the board changed meanwhile',
};

/** For a column's rename, "done" mark, move or delete that the server refused; `namesOthers` for a move or delete. */
export const columnRefusal = (name: string, change: string, failure: Error, namesOthers = false) =>
  `Column “${name}” was not ${change}: ${why(failure, namesOthers ? COLUMN_PLACE : COLUMN_EDIT)}.`;

/** A refused change's reason in words, for a notice that says what was refused itself. */
export const refusalOf = (failure: Error) => why(failure, UNSENT);
