import type { EntityManager } from '@mikro-orm/postgresql';
import { authorId, type Principal } from '../auth/principal.js';
import { User } from './user.entity.js';

/** The acting user as an author reference (the principal was verified), or null for a bot. */
export function userRef(em: EntityManager, principal: Principal) {
  const id = authorId(principal);
  return id ? em.getReference(User, id) : null;
}
