import type { MemberJson } from '../../../index.js';

/** What the board calls an assignee who is no longer in the org: the server keeps their cards assigned to them. */
export const FORMER_MEMBER = 'Former member';

/**
 * A card's assignee as the board shows them: the member, or `FORMER_MEMBER` for an id the org's
 * members do not hold; undefined for no assignee, or while the members are not read yet (`null`).
 */
export function assigneeOf(id: string | null, members: Map<string, MemberJson> | null): { id: string; name: string } | undefined {
  if (!id || !members) return undefined;
  return { id, name: members.get(id)?.user.name ?? FORMER_MEMBER };
}
