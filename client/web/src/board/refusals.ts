import { TaskFlowError } from '../../../index.js';
import { refusalText } from '../common/refusal-text.js';

type Reasons = Readonly<Record<string, string>>;

const ANY_CHANGE: Reasons = { FORBIDDEN: 'you may not change this board', NOT_FOUND: 'it was deleted meanwhile' };
// A move names its neighbours: one that went elsewhere meanwhile is refused as VALIDATION_FAILED.
// A card still on the board whose move is refused NOT_FOUND was moved to a column deleted meanwhile.
const MOVE_KEPT: Reasons = {
  ...ANY_CHANGE,
  NOT_FOUND: 'the column it was moved to was deleted meanwhile',
  VALIDATION_FAILED: 'the board changed meanwhile',
  CONFLICT: 'the board changed meanwhile',
};
const EDIT: Reasons = { ...ANY_CHANGE, CONFLICT: 'a teammate changed it meanwhile' };

/** Why the server refused a change, in words; the server's (`refusalText`) for anything unforeseen. */
function why(failure: Error, reasons: Reasons): string {
  if (!(failure instanceof TaskFlowError)) return failure.message;
  return reasons[failure.code] ?? refusalText(failure) ?? failure.message;
}

/** For a card's move the server refused; `gone` when the card is no longer on the board (deleted meanwhile). */
export const moveRefusal = (title: string, failure: Error, gone: boolean) =>
  gone
    ? `Move of “${title}” refused: it was deleted meanwhile.`
    : `Move of “${title}” refused: ${why(failure, MOVE_KEPT)}. It is back where it was.`;

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
export const refusalOf = (failure: Error) => why(failure, {});
