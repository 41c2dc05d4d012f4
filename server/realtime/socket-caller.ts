import type { Caller } from '../auth/caller.js';
import type { TaskFlowSocket } from './types.js';

/** The caller of a socket event: its principal, and the socket, which learns of its change from the ack. */
export function socketCaller(socket: TaskFlowSocket): Caller {
  return { principal: socket.data.principal, socketId: socket.id };
}
