import type { UserJson } from '../../shared/wire.js';
import type { IUser } from './user.entity.js';

export function toUserJson(user: Pick<IUser, 'id' | 'email' | 'name' | 'avatarUrl'>): UserJson {
  return { id: user.id, email: user.email, name: user.name, avatarUrl: user.avatarUrl ?? null };
}
