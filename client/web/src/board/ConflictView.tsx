import type { LabelJson, MemberJson, TaskJson } from '../../../index.js';
import { type Draft, type DraftField, describeField, draftOf, FIELD_NAMES } from './task-draft.js';

export interface Conflict {
  theirs: TaskJson;
  fields: DraftField[];
}

/**
 * Someone changed the same fields since the dialog opened: both versions side by side, and the
 * choice between saving ours over theirs and keeping theirs.
 */
export function ConflictView(props: {
  conflict: Conflict;
  draft: Draft;
  members: Map<string, MemberJson>;
  labels: Map<string, LabelJson>;
  busy: boolean;
  onUseMine(): void;
  onKeepTheirs(): void;
}) {
  const { conflict, draft, members, labels } = props;
  const theirs = draftOf(conflict.theirs);
  return (
    <section className="conflict" role="alert" aria-labelledby="conflict-title">
      <h3 id="conflict-title">Someone else changed this card while you were editing</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Their version</th>
            <th scope="col">Your version</th>
          </tr>
        </thead>
        <tbody>
          {conflict.fields.map((field) => (
            <tr key={field} data-field={field}>
              <th scope="row">{FIELD_NAMES[field]}</th>
              <td className="theirs">{describeField(field, theirs, members, labels)}</td>
              <td className="mine">{describeField(field, draft, members, labels)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <button type="button" className="primary" disabled={props.busy} onClick={props.onUseMine}>
          Save mine
        </button>
        <button type="button" disabled={props.busy} onClick={props.onKeepTheirs}>
          Keep theirs
        </button>
      </div>
    </section>
  );
}
