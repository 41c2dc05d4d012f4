import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { tenantFilter, timeOrderedBaseProperties } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Column } from '../projects/column.entity.js';
import { Project } from '../projects/project.entity.js';
import { User } from '../users/user.entity.js';
import { TaskLabel } from '../labels/task-label.entity.js';

export const Task = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  filters: tenantFilter,
  /** Positions are unique within a column, so the order of a column is never a tie. */
  uniques: [{ properties: ['column', 'position'] }],
  // Neighbours are found in byte order (`COLLATE "C"`); the unique index above follows the
  // database's collation, so this one serves those lookups.
  indexes: [
    {
      name: 'tasks_column_position_bytes_index',
      expression: 'create index "tasks_column_position_bytes_index" on "tasks" ("column_id", "position" collate "C")',
    },
    // A board's tasks, and one task of a board by its id: a statement that names both finds the
    // row here whatever plan it got, where an index of the board alone, chosen by a plan made
    // while the table was young, read the board's every task to change one.
    { name: 'tasks_project_id_id_index', properties: ['project', 'id'] },
  ],
  properties: {
    // A task's id begins with its time, so new tasks go to the end of the indexes that end with it.
    ...timeOrderedBaseProperties,
    // No foreign key to the org, as for board events (see there): the task goes with its board.
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    column: () => p.manyToOne(Column).deleteRule('cascade'),
    title: p.string().length(500),
    description: p.text().nullable(),
    priority: p.smallint().default(0),
    assignee: () => p.manyToOne(User).nullable().deleteRule('set null'),
    dueDate: p.date().nullable(),
    /** A fractional key, compared as bytes (`COLLATE "C"`). */
    position: p.string().length(200),
    version: p.integer().default(1),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    updatedAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
    /** Its labels, loaded with the task (one joined query) wherever a task is answered. */
    taskLabels: () => p.oneToMany(TaskLabel).mappedBy('task').orphanRemoval(),
  },
});
export type ITask = InferEntity<typeof Task>;
