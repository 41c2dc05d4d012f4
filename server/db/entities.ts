import { ApiKey } from '../api-keys/api-key.entity.js';
import { AuditLog } from '../audit/audit-log.entity.js';
import { BoardEvent } from '../board/board-event.entity.js';
import { NoopMutation } from '../board/noop-mutation.entity.js';
import { Invite } from '../orgs/invite.entity.js';
import { Label } from '../labels/label.entity.js';
import { TaskLabel } from '../labels/task-label.entity.js';
import { Membership } from '../orgs/membership.entity.js';
import { Organization } from '../orgs/organization.entity.js';
import { Column } from '../projects/column.entity.js';
import { Project } from '../projects/project.entity.js';
import { Task } from '../tasks/task.entity.js';
import { User } from '../users/user.entity.js';
import { Webhook, WebhookCursor, WebhookDelivery } from '../webhooks/webhook.entity.js';

export {
  ApiKey,
  AuditLog,
  BoardEvent,
  Column,
  Invite,
  Label,
  Membership,
  NoopMutation,
  Organization,
  Project,
  Task,
  TaskLabel,
  User,
  Webhook,
  WebhookCursor,
  WebhookDelivery,
};

/** Every entity, in the order the schema needs them. */
export const entities = [
  User,
  Organization,
  Membership,
  Project,
  Column,
  Task,
  BoardEvent,
  Invite,
  ApiKey,
  AuditLog,
  Label,
  TaskLabel,
  NoopMutation,
  Webhook,
  WebhookCursor,
  WebhookDelivery,
];
