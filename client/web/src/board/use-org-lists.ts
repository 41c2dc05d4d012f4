import { useEffect, useRef } from 'react';
import type { BoardState, LabelJson, MemberJson, TaskFlowClient } from '../../../index.js';
import { api, ApiError, type Membership } from '../app/api.js';
import { type Resource, useResource } from '../app/use-resource.js';

export interface OrgLists {
  members: Resource<MemberJson[]>;
  labels: Resource<LabelJson[]>;
}

/**
 * The org's members and labels, for the cards and the card dialog, kept current while the board is
 * open: members are read again on every `member.*` org event. Labels have no event, so they are
 * read again when a card names one the board does not know (made by a teammate since); likewise
 * members, for an assignee who joined while the connection was away. Each unknown id is asked
 * about once, so one that stays unknown does not read the list again and again. (The board screen
 * renders again at every change of the board, so the cards are looked at each time.) A read that
 * failed for now (the network, or the server's 5xx) is tried again until it is had: without the
 * lists the cards would show no assignee and no labels, as if they had none.
 */
export function useOrgLists(client: TaskFlowClient | null, org: Membership['org'], userId: string, board: BoardState | null): OrgLists {
  const members = useResource(`members:${org.slug}`, () => api.members(org.slug));
  const labels = useResource(`labels:${org.slug}`, () => api.labels(org.slug));
  const { reload: reloadMembers } = members;

  useEffect(
    () =>
      client?.on('org', (event) => {
        // The user's own removal can reach them before the server takes them out of the org's
        // room: the board is going away, and a read would only be refused.
        const ownRemoval = event.type === 'member.removed' && event.data.userId === userId;
        if (event.orgId === org.id && event.type.startsWith('member.') && !ownRemoval) reloadMembers();
      }),
    [client, org.id, userId, reloadMembers],
  );

  useRetryOnFailure(members);
  useRetryOnFailure(labels);

  const tasks = board ? [...board.tasks.values()] : [];
  useReloadOnUnknown(
    labels,
    (label) => label.id,
    tasks.flatMap((task) => task.labelIds),
  );
  useReloadOnUnknown(
    members,
    (member) => member.user.id,
    tasks.flatMap((task) => (task.assigneeId ? [task.assigneeId] : [])),
  );

  return { members, labels };
}

function useReloadOnUnknown<T>(list: Resource<T[]>, idOf: (item: T) => string, named: string[]): void {
  const asked = useRef(new Set<string>());
  const known = list.loading || !list.data ? null : new Set(list.data.map(idOf));
  const unknown = known ? [...new Set(named)].filter((id) => !known.has(id) && !asked.current.has(id)) : [];
  const key = unknown.join(',');
  const { reload } = list;
  useEffect(() => {
    if (!key) return;
    for (const id of key.split(',')) asked.current.add(id);
    reload();
  }, [key, reload]);
}

/** The most a failed read waits before it is tried again; the first waits a second, each next twice as long. */
const LONGEST_RETRY_MS = 30_000;

function useRetryOnFailure(list: Resource<unknown>): void {
  const failures = useRef(0);
  const { error, loading, reload } = list;
  useEffect(() => {
    if (!error) {
      if (!loading) failures.current = 0; // had
      return;
    }
    if (error instanceof ApiError && error.status < 500) return; // refused: asking again changes nothing
    const timer = setTimeout(reload, Math.min(LONGEST_RETRY_MS, 1000 * 2 ** failures.current++));
    return () => clearTimeout(timer);
  }, [error, loading, reload]);
}
