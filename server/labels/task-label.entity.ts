import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Task } from '../tasks/task.entity.js';
import { Label } from './label.entity.js';

/** A label on a task. */
export const TaskLabel = defineEntity({
  name: 'TaskLabel',
  tableName: 'task_labels',
  filters: tenantFilter,
  uniques: [{ properties: ['task', 'label'] }],
  properties: {
    ...baseProperties,
    // No foreign key to the org, as for tasks (see there): it goes with its task.
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    task: () => p.manyToOne(Task).deleteRule('cascade'),
    label: () => p.manyToOne(Label).deleteRule('cascade').index(),
  },
});
export type ITaskLabel = InferEntity<typeof TaskLabel>;
