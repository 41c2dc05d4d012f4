import { DomainError } from './errors.js';
import { Lanes } from './lanes.js';

/** How many socket events and HTTP requests of one user or API key run at once on a node. */
export const RUNNING_PER_PRINCIPAL = 4;

/**
 * The lanes of accounts (`principalRoom` names one): what one account can take from a node, over
 * all its sockets and HTTP requests together, so that neither its flood of slow changes nor of
 * joins takes every database connection of the node from other tenants. `RUNNING_PER_PRINCIPAL`
 * run at once; as many may wait as one socket may send in a burst (twice `SOCKET_RATE_LIMIT`),
 * past which the work is refused at once (`overflowing`).
 */
export function createAccountLanes(socketRateLimit: number): Lanes {
  return new Lanes(RUNNING_PER_PRINCIPAL, socketRateLimit > 0 ? 2 * socketRateLimit : Infinity);
}

/** The refusal of an account's work while a burst of it waits: `details` says when to try again, as its transport says it. */
export function overflowing(socketRateLimit: number, details: { retryAfterMs: number } | { retryAfterSeconds: number }): DomainError {
  return new DomainError('RATE_LIMITED', `over ${2 * socketRateLimit} events and requests of this account wait on this node`, details);
}
