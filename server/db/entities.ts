import { BoardEvent } from '../board/board-event.entity.js';
import { Membership } from '../orgs/membership.entity.js';
import { Organization } from '../orgs/organization.entity.js';
import { Column } from '../projects/column.entity.js';
import { Project } from '../projects/project.entity.js';
import { Task } from '../tasks/task.entity.js';
import { User } from '../users/user.entity.js';

export { BoardEvent, Column, Membership, Organization, Project, Task, User };

/** Every entity, in the order the schema needs them. */
export const entities = [User, Organization, Membership, Project, Column, Task, BoardEvent];

/** The tables that carry `org_id` and sit behind row-level security. */
export const tenantTables = ['memberships', 'projects', 'board_columns', 'tasks', 'board_events'];
