import { HeldFrames } from './socket-frames.js';

/**
 * Forwards a page's socket.io frames, except that every `task:move` names a neighbour that does
 * not exist, and is held until `release()`.
 */
export class StaleMoves extends HeldFrames {
  constructor() {
    super(['task:move'], (payload) => ({ ...payload, afterId: '00000000-0000-4000-8000-000000000000', beforeId: undefined }));
  }
}
