import { TaskFlowError } from '../../../index.js';

type Reasons = Readonly<Record<string, string>>;

const ANY_CHANGE: Reasons = { FORBIDDEN: 'you may not change this board', NOT_FOUND: 'it was deleted meanwhile' };
// A move names its neighbours: one that went elsewhere meanwhile is refused as VALIDATION_FAILED.
const MOVE: Reasons = { ...ANY_CHANGE, VALIDATION_FAILED: 'the board changed meanwhile', CONFLICT: 'the board changed meanwhile' };
const EDIT: Reasons = { ...ANY_CHANGE, CONFLICT: 'a teammate changed it meanwhile' };

/** Why the server refused a change, in words; the server's message for anything unforeseen. */
function why(failure: Error, reasons: Reasons): string {
  return (failure instanceof TaskFlowError ? reasons[failure.code] : undefined) ?? failure.message;
}

export const moveRefusal = (title: string, failure: Error) => `Move of “${title}” refused: ${why(failure, MOVE)}. It is back where it was.`;

/** For a save refused after its dialog was closed (e.g. sent when the connection came back). */
export const editRefusal = (title: string, failure: Error) => `Your changes to “${title}” were not saved: ${why(failure, EDIT)}.`;

/** For a delete refused after its dialog was closed. */
export const deleteRefusal = (title: string, failure: Error) => `“${title}” was not deleted: ${why(failure, EDIT)}.`;
