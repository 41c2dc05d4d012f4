/** Org roles, lowest first (DESIGN §4). */
export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** What an actor may do inside an org. */
export type Capability = 'board:read' | 'tasks:write' | 'projects:write' | 'members:manage' | 'org:admin' | 'org:own';

/** The lowest role that holds each capability; every higher role holds it too. */
const LOWEST_ROLE: Record<Capability, Role> = {
  'board:read': 'viewer',
  'tasks:write': 'member',
  'projects:write': 'member',
  'members:manage': 'admin',
  'org:admin': 'admin',
  'org:own': 'owner',
};

/** The API key permission that grants each capability to a bot, where one does. */
export const KEY_PERMISSION: Partial<Record<Capability, ApiKeyPermission>> = {
  'board:read': 'boards:read',
  'tasks:write': 'tasks:write',
  'projects:write': 'projects:write',
};

export const API_KEY_PERMISSIONS = ['boards:read', 'tasks:write', 'projects:write'] as const;
export type ApiKeyPermission = (typeof API_KEY_PERMISSIONS)[number];

/** Whether `role` is at least `atLeast`. */
function roleAtLeast(role: Role, atLeast: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(atLeast);
}

/** Whether a member with `role` holds `capability`. */
export function roleCan(role: Role, capability: Capability): boolean {
  return roleAtLeast(role, LOWEST_ROLE[capability]);
}
