import type { Caller } from '../auth/caller.js';
import type { TaskFlowSocket } from './types.js';

/**
 * The caller of a socket event: its principal, and the socket, which learns of its change from
 * the ack (until the ack is given at the deadline: `serveEvents` then takes the socket out).
 */
export function socketCaller(socket: TaskFlowSocket): Caller {
  return { principal: socket.data.principal, socketId: socket.id };
}
