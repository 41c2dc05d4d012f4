import type { Principal } from './principal.js';

/** Who asks, and from where. */
export interface Caller {
  principal: Principal;
  /** The org of an HTTP route's slug: refusals to outsiders are 403 there (see `board-target.ts`). */
  scopeOrgId?: string;
  /**
   * The socket that sent a change and waits for its answer: it learns of the change from its ack,
   * not a broadcast. One answered at its deadline waits no more, and hears the change if it commits.
   */
  socketId?: string;
  /** For the audit log. */
  ip?: string | null;
  userAgent?: string | null;
}
