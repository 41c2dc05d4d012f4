import { roleCan } from '../../../../shared/roles.js';
import { closestCorners, DndContext, DragOverlay } from '@dnd-kit/core';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ColumnJson, TaskFlowClient, TaskJson, Viewer } from '../../../index.js';
import { api, type Me, type Membership } from '../app/api.js';
import { useConnectionState, useTasksBeingCreated, useUnacknowledged } from '../app/live.js';
import { navigate, paths } from '../app/router.js';
import { ErrorState } from '../common/ErrorState.js';
import { notify } from '../common/notices.js';
import { AddColumnForm } from './AddColumnForm.js';
import { BoardActions } from './BoardActions.js';
import { announcements } from './announcements.js';
import { useTeammateChanges } from './teammate-changes.js';
import { BoardColumn, type ColumnChanges, NONE_BEING_CREATED } from './BoardColumn.js';
import { readBoardAddress, useBoardAddress } from './board-address.js';
import { boardView, type ColumnView, containerOf, type Neighbours, type PendingMove } from './board-view.js';
import { cardMatcher, filteredView, isFiltering } from './card-filter.js';
import { CardFilterBar } from './CardFilterBar.js';
import { CardBody, type CardContext } from './CardBody.js';
import { CardDialog } from './CardDialog.js';
import { PresenceBar } from './PresenceBar.js';
import { columnRefusal, moveRefusal, refusalOf } from './refusals.js';
import { isDenied, useBoard } from './use-board.js';
import { useBoardDrag } from './use-board-drag.js';
import { useOrgLists } from './use-org-lists.js';
import { useToday } from './use-today.js';
import { ScreenHeading } from '../common/ScreenHeading.js';

let moveCount = 0;

/** A live board: columns and cards as the SDK holds them, kept current by teammates' changes. */
export function BoardScreen({
  client,
  membership,
  me,
  projectId,
}: {
  client: TaskFlowClient | null;
  membership: Membership;
  me: Me;
  projectId: string;
}) {
  const { slug } = membership.org;
  const { board, revision, viewers, error, retry } = useBoard(client, projectId);
  const connection = useConnectionState(client);
  const unsent = useUnacknowledged(client);
  const beingCreated = useTasksBeingCreated(client, projectId);
  const { members, labels } = useOrgLists(client, membership.org, me.user.id, board);
  const [pending, setPending] = useState<PendingMove[]>([]);
  // The filter and the open card start as the page's address has them, and keep it in step.
  const [address] = useState(readBoardAddress);
  const [openTaskId, setOpenTaskId] = useState<string | null>(address.card);
  // Labels change with no board event: read afresh as a card opens, so its picker offers none deleted since.
  const { reload: reloadLabels } = labels;
  useEffect(() => {
    if (openTaskId) reloadLabels();
  }, [openTaskId, reloadLabels]);

  // The board state is mutable: `revision` says when it changed.
  const fullView = useMemo(() => (board ? boardView(board, pending) : []), [board, revision, pending]);
  const tasks = useMemo(() => new Map(fullView.flatMap((entry) => entry.tasks.map((task) => [task.id, task] as const))), [fullView]);
  // What the board shows: every card, or those the filter keeps (`card-filter.ts`).
  const [filter, setFilter] = useState(address.filter);
  useBoardAddress({ filter, card: openTaskId });
  const labelsById = useMemo(() => new Map((labels.data ?? []).map((label) => [label.id, label])), [labels.data]);
  const lastShown = useRef<ColumnView[] | null>(null);
  const view = useMemo(
    () => (isFiltering(filter) ? filteredView(fullView, cardMatcher(filter, me.user.id, labelsById), lastShown.current) : fullView),
    [fullView, filter, me.user.id, labelsById],
  );
  useLayoutEffect(() => {
    lastShown.current = view;
  });

  // A board of another of the user's orgs, opened under this one: show it under its own org.
  useEffect(() => {
    const owner = board && me.memberships.find((m) => m.org.id === board.project.orgId);
    if (owner && owner.org.id !== membership.org.id) navigate(paths.board(owner.org.slug, projectId) + location.search, { replace: true });
  }, [board, me, membership, projectId]);

  // Moves the board now shows by itself need no overlay any more.
  useEffect(() => {
    setPending((list) => {
      const kept = list.filter(
        (move) => move.settledVersion === undefined || (board?.tasks.get(move.taskId)?.version ?? Infinity) < move.settledVersion,
      );
      return kept.length === list.length ? list : kept;
    });
  }, [board, revision]);

  const readOnly = !roleCan(membership.role, 'tasks:write') || board?.project.status !== 'active';

  const move = (taskId: string, columnId: string, neighbours: Neighbours) => {
    if (!client) return;
    const title = board?.tasks.get(taskId)?.title ?? titleAtDragStart.current ?? 'the card';
    const key = `move-${++moveCount}`;
    setPending((list) => [...list, { key, taskId, columnId, ...neighbours }]);
    client.moveTask({ taskId, columnId, ...neighbours }).then(
      ({ task }) => setPending((list) => list.map((m) => (m.key === key ? { ...m, settledVersion: task.version } : m))),
      (failure: Error) => {
        setPending((list) => list.filter((m) => m.key !== key));
        notify(moveRefusal(title, failure, client.boards.get(projectId)?.tasks.has(taskId)));
      },
    );
  };
  const drag = useBoardDrag(view, move);
  // The title of the card picked up, for the notice should it be deleted before it is dropped.
  const titleAtDragStart = useRef<string | undefined>(undefined);
  const dragAtStart = useRef(false); // for the drag's announcements

  // Stable between renders, so that columns and cards a change did not touch skip re-rendering.
  const day = useToday();
  const context: CardContext = useMemo(
    () => ({
      members: members.data ? new Map(members.data.map((member) => [member.user.id, member])) : null,
      labels: labelsById,
      today: day,
    }),
    [members.data, labelsById, day],
  );
  const editors = useMemo(() => editorsOf(viewers, me.user.id), [viewers, me.user.id]);
  const teammateChanges = useTeammateChanges(client, projectId, me.user.id);
  // The column of the card whose dialog is open, kept should the card go: the focus goes there after.
  const openColumn = useRef<string | undefined>(undefined);
  const openTask = openTaskId ? tasks.get(openTaskId) : undefined;
  if (openTask) openColumn.current = openTask.columnId;
  // A card the address names that is not on the board as it loads (deleted, or never on it) opens
  // no dialog: the user is told, and the address forgets it.
  const linkedCard = useRef(address.card);
  const linkedCardMissing = !!board && openTaskId !== null && openTaskId === linkedCard.current && !openTask;
  useLayoutEffect(() => {
    if (!board || linkedCard.current === null) return;
    linkedCard.current = null;
    if (linkedCardMissing) {
      setOpenTaskId(null);
      notify('The card this link opens is not on this board: it was deleted, or is on another board.', 'info');
    }
  }, [board, linkedCardMissing]);
  // As the dialog closes, the focus goes back to its card, for keyboard users; the card deleted, to
  // its column's first card or "Add a card" (it fell to the page's start). After the dialog has
  // gone: while it is open, the rest of the page takes no focus.
  const returnFocus = useRef<{ taskId: string; columnId: string | undefined } | null>(null);
  useEffect(() => {
    const from = returnFocus.current;
    if (openTaskId || !from) return;
    returnFocus.current = null;
    const column = `[data-column-id="${from.columnId}"]`;
    (
      document.querySelector<HTMLElement>(`[data-task-id="${from.taskId}"]`) ??
      document.querySelector<HTMLElement>(`${column} .card, ${column} .add-button`) ??
      document.getElementById('board-title')
    )?.focus();
  }, [openTaskId]);
  // A card the filter hides as it is made is said to be made: the form clears, and nothing else would show it.
  const shownByFilter = useRef<(task: TaskJson) => boolean>(() => true);
  useLayoutEffect(() => {
    shownByFilter.current = isFiltering(filter) ? cardMatcher(filter, me.user.id, labelsById) : () => true;
  });
  const createTask = useCallback(
    async (columnId: string, title: string) => {
      await client?.createTask({ projectId, columnId, title }).then(
        ({ task }) => shownByFilter.current(task) || notify(`“${task.title}” was added: the filter hides it.`, 'info'),
        (failure: Error) => notify(`Could not add the card: ${refusalOf(failure)}`),
      );
    },
    [client, projectId],
  );
  // Sent without waiting in a form: the board shows the change when the server's event comes,
  // and a refusal (the column deleted meanwhile, say) is told in a notice.
  const columnChanges: ColumnChanges | null = useMemo(() => {
    if (!client || !board) return null;
    const columnChange = async (column: ColumnJson, change: string, send: () => Promise<unknown>, namesOthers = false) => {
      await send().catch((failure: Error) => notify(columnRefusal(column.name, change, failure, namesOthers)));
    };
    return {
      rename: (column, name) => columnChange(column, 'renamed', () => client.updateColumn({ columnId: column.id, patch: { name } })),
      setDone: (column, isDone) =>
        columnChange(column, isDone ? 'marked as done' : 'unmarked as done', () =>
          client.updateColumn({ columnId: column.id, patch: { isDone } }),
        ),
      move: (column, direction) => {
        // The board's columns as they are now (the board state is mutable and kept current).
        const orderedColumns = board.orderedColumns();
        const index = orderedColumns.findIndex((c) => c.id === column.id);
        const neighbour = orderedColumns[direction === 'left' ? index - 1 : index + 1];
        if (index < 0 || !neighbour) return Promise.resolve();
        const place = direction === 'left' ? { beforeId: neighbour.id } : { afterId: neighbour.id };
        return columnChange(column, `moved ${direction}`, () => client.moveColumn({ columnId: column.id, ...place }), true);
      },
      remove: (column, moveTasksTo) =>
        columnChange(column, 'deleted', () => client.deleteColumn({ columnId: column.id, ...(moveTasksTo ? { moveTasksTo } : {}) }), true),
    };
  }, [client, board]);
  // While a card is dragged: each column's cards where they would land; a column the drag does not
  // change keeps the same array as without a drag.
  const placed = useMemo(() => {
    if (!drag.placement) return null;
    const placement = drag.placement;
    return new Map(
      view.map(({ column, tasks: columnTasks }) => {
        const ids = placement[column.id] ?? [];
        const same = ids.length === columnTasks.length && columnTasks.every((task, index) => task.id === ids[index]);
        return [column.id, same ? columnTasks : ids.map((id) => tasks.get(id)).filter((t): t is TaskJson => !!t)] as const;
      }),
    );
  }, [drag.placement, view, tasks]);

  if (error) {
    return (
      <ErrorState title={isDenied(error) ? 'You cannot open this board' : 'The board could not be loaded'}>
        <p>{isDenied(error) ? 'It does not exist, or you do not have access to it.' : error.message}</p>
        {!isDenied(error) && (
          <button type="button" onClick={retry}>
            Try again
          </button>
        )}
      </ErrorState>
    );
  }
  if (!board || !client) return <p className="page hint">Loading the board…</p>;

  const active = drag.activeId ? tasks.get(drag.activeId) : undefined;
  const columnOf = (taskId: string) => (drag.placement ? containerOf(drag.placement, taskId) : tasks.get(taskId)?.columnId);
  const createColumn = async (name: string) => {
    await client.createColumn({ projectId, name }).catch((failure: Error) => notify(`Could not add the column: ${refusalOf(failure)}`));
  };

  const orderedColumns = view.map((entry) => entry.column);
  // While filtered, each column also says how many cards it holds in all.
  const totals = isFiltering(filter) ? new Map(fullView.map((entry) => [entry.column.id, entry.tasks.length])) : null;

  return (
    <section className="board-page" aria-labelledby="board-title">
      <div className="board-bar">
        <ScreenHeading id="board-title">{board.project.name}</ScreenHeading>
        {board.project.status === 'archived' && <span className="role">archived</span>}
        {roleCan(membership.role, 'projects:write') && <BoardActions slug={slug} project={board.project} />}
        <CardFilterBar
          filter={filter}
          onChange={setFilter}
          shown={view.reduce((n, entry) => n + entry.tasks.length, 0)}
          total={tasks.size}
        />
        <PresenceBar viewers={viewers} />
      </div>
      {connection !== 'live' && unsent > 0 && (
        <p className="hint warning board-unsent" role="status">
          {unsent === 1 ? '1 change is' : `${unsent} changes are`} waiting for the connection: sent as soon as it is back. Keep this page
          open until then.
        </p>
      )}
      <p className="visually-hidden" role="status" data-announce="teammates">
        {teammateChanges}
      </p>
      <DndContext
        sensors={drag.sensors}
        collisionDetection={closestCorners}
        onDragStart={(event) => {
          titleAtDragStart.current = tasks.get(String(event.active.id))?.title;
          drag.onDragStart(event);
        }}
        onDragOver={drag.onDragOver}
        onDragEnd={drag.onDragEnd}
        onDragCancel={drag.onDragCancel}
        accessibility={{ announcements: announcements(board, tasks, columnOf, dragAtStart) }}
      >
        <div className="board" data-board-id={board.project.id}>
          {view.map(({ column, tasks: columnTasks }) => (
            <BoardColumn
              key={column.id}
              column={column}
              columns={orderedColumns}
              tasks={placed?.get(column.id) ?? columnTasks}
              beingCreated={beingCreated.get(column.id) ?? NONE_BEING_CREATED}
              total={totals?.get(column.id)}
              context={context}
              editors={editors}
              readOnly={readOnly}
              onOpen={setOpenTaskId}
              onCreate={createTask}
              changes={columnChanges!}
            />
          ))}
          {!readOnly && <AddColumnForm onCreate={createColumn} />}
        </div>
        <DragOverlay>
          {active ? (
            <div className="card card-overlay">
              <CardBody task={active} context={context} editing={editors.get(active.id)} />
            </div>
          ) : null}
        </DragOverlay>
      </DndContext>
      {openTaskId && !linkedCardMissing && (
        <CardDialog
          key={openTaskId}
          client={client}
          projectId={projectId}
          task={board.tasks.get(openTaskId)}
          members={members.data ?? null}
          labels={labels.data ?? []}
          readOnly={readOnly}
          onCreateLabel={async (input) => {
            const label = await api.createLabel(slug, input);
            labels.reload();
            return label;
          }}
          onClose={() => {
            returnFocus.current = { taskId: openTaskId, columnId: openColumn.current };
            setOpenTaskId(null);
          }}
        />
      )}
    </section>
  );
}

/** Task id → the names of the teammates (not the user) who have it open, e.g. "Ana, Ben". */
function editorsOf(viewers: Viewer[], userId: string): Map<string, string> {
  const editors = new Map<string, Viewer[]>();
  for (const viewer of viewers) {
    if (!viewer.editingTaskId || (viewer.kind === 'user' && viewer.id === userId)) continue;
    editors.set(viewer.editingTaskId, [...(editors.get(viewer.editingTaskId) ?? []), viewer]);
  }
  return new Map([...editors].map(([taskId, list]) => [taskId, list.map((viewer) => viewer.name).join(', ')]));
}
