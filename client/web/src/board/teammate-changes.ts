import { useEffect, useState } from 'react';
import type { BoardEvent, BoardState, TaskFlowClient } from '../../../index.js';

/** How long teammates' changes gather before they are said: a bot's burst is one sentence, not fifty. */
const GATHER_MS = 1000;

/**
 * What a screen reader hears of the board's changes made by others (teammates and bots, not the
 * user): one sentence a second at most, the latest change named ("Ben moved “Ship it” to Done"),
 * with how many came together. The board screen shows it in a polite live region.
 */
export function useTeammateChanges(client: TaskFlowClient | null, projectId: string, userId: string): string {
  const [said, setSaid] = useState('');
  useEffect(() => {
    if (!client) return;
    let gathered: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The cards' titles as they stood before the latest change: a deleted card's is gone from the board.
    const titles = new CardTitles(client.boards.get(projectId));
    const say = () => {
      timer = undefined;
      const last = gathered.at(-1);
      if (last) setSaid(gathered.length === 1 ? last : `${gathered.length} changes by teammates; the last: ${last}`);
      gathered = [];
    };
    const off = client.on('board', (board, event) => {
      if (board.project.id !== projectId) return;
      const deletedTitle = titles.follow(board, event);
      if (!event || (event.actor.kind === 'user' && event.actor.id === userId)) return;
      gathered.push(describeChange(board, event, deletedTitle));
      timer ??= setTimeout(say, GATHER_MS);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [client, projectId, userId]);
  return said;
}

/** Each card's title, kept through the board's events, so that a deleted card can be named. */
class CardTitles {
  private readonly titles = new Map<string, string>();

  constructor(board: BoardState | undefined) {
    if (board) this.readAll(board);
  }

  /** Takes in what the board's listener was told; answers the title of the card an event deleted. */
  follow(board: BoardState, event: BoardEvent | undefined): string | undefined {
    if (!event) {
      this.readAll(board); // read afresh: a snapshot
      return undefined;
    }
    if (event.type === 'task.deleted') {
      const title = this.titles.get(event.data.taskId);
      this.titles.delete(event.data.taskId);
      return title;
    }
    if (event.type === 'task.created' || event.type === 'task.updated' || event.type === 'task.moved')
      this.titles.set(event.data.task.id, event.data.task.title);
    return undefined;
  }

  private readAll(board: BoardState): void {
    this.titles.clear();
    for (const task of board.tasks.values()) this.titles.set(task.id, task.title);
  }
}

/** One change in words, by who made it: card titles and column names, as the board shows them. */
export function describeChange(board: BoardState, event: BoardEvent, deletedTitle?: string): string {
  const who = event.actor.name;
  const columnName = (id: string) => `“${board.columns.get(id)?.name ?? 'a column'}”`;
  switch (event.type) {
    case 'task.created':
      return `${who} added “${event.data.task.title}” to ${columnName(event.data.task.columnId)}.`;
    case 'task.updated':
      return `${who} edited “${event.data.task.title}”.`;
    case 'task.moved':
      return `${who} moved “${event.data.task.title}” to ${columnName(event.data.task.columnId)}.`;
    case 'task.deleted':
      return deletedTitle === undefined ? `${who} deleted a card.` : `${who} deleted “${deletedTitle}”.`;
    case 'column.created':
      return `${who} added the column “${event.data.column.name}”.`;
    case 'column.updated':
      return `${who} changed the column “${event.data.column.name}”.`;
    case 'column.moved':
      return `${who} moved the column “${event.data.column.name}”.`;
    case 'column.deleted':
      return `${who} deleted the column “${event.data.column.name}”.`;
    case 'project.updated':
      return `${who} changed the board.`;
  }
}
