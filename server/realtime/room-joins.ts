import { boardOfRoom } from './rooms.js';
import type { SocketData, TaskFlowSocket } from './types.js';

/**
 * A socket's `board:join`s of one room under way (`socket.data.joining`, none while no join
 * runs). A join puts the socket in the board's room as soon as it is authorized, so that no event
 * is missed while it reads; one that fails takes it out again, unless the socket stands in the
 * room anyway: it was there before and has not left since, or another join of the room succeeded.
 * The last join of the room under way decides, so a failed join never undoes a later one.
 */
export function joinStarted(socket: TaskFlowSocket, room: string): void {
  const joining = (socket.data.joining ??= new Map());
  const joins = joining.get(room) ?? { underWay: 0, stands: socket.rooms.has(room) };
  joins.underWay += 1;
  joining.set(room, joins);
}

/**
 * A join of `room` was answered, `ok` or not. Answers whether the socket's standing in the room
 * changed: it now stands there by this join (presence changed), or, as the last join of the room
 * under way with none succeeded, the failed joins put it there for nothing (it must leave).
 */
export function joinEnded(socket: TaskFlowSocket, room: string, ok: boolean): boolean {
  const joining = socket.data.joining!;
  const joins = joining.get(room)!;
  joins.underWay -= 1;
  const changed = ok ? !joins.stands : joins.underWay === 0 && !joins.stands;
  if (ok) joins.stands = true;
  if (joins.underWay === 0) joining.delete(room);
  if (joining.size === 0) delete socket.data.joining;
  return changed;
}

/**
 * The socket left `room` (a `board:leave`, a kick, a failed join): it edits nothing on that board
 * any more (presence), and a join of it under way that fails takes it out again.
 */
export function leftRoom(socket: { data: SocketData }, room: string): void {
  const joins = socket.data.joining?.get(room);
  if (joins) joins.stands = false;
  const board = boardOfRoom(room);
  if (board) delete socket.data.editing[board.projectId];
}
