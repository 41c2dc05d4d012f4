import type { Actor } from '../../shared/wire.js';

/** Who is acting: a person, from a verified token. Where they act comes with each request. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  name: string;
  isSuperAdmin: boolean;
}

export type Principal = UserPrincipal;

/** How a principal appears in board events. */
export function actorOf(principal: Principal): Actor {
  return { kind: 'user', id: principal.userId, name: principal.name };
}
