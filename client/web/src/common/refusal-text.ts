/**
 * A refusal in words, over HTTP or a socket: a schema's refusal by what it found wrong, each field
 * once ("Url: an http:// or https:// URL, …", "Name: must have a character that shows, …"), not
 * its generic "the payload does not match the schema"; any other refusal by its message.
 */
export function refusalText(error: { code?: string; message?: string; details?: unknown } | undefined): string | undefined {
  if (error?.code !== 'VALIDATION_FAILED' || !Array.isArray(error.details)) return error?.message;
  const byField = new Map<string, string>();
  for (const issue of error.details as unknown[]) {
    if (typeof issue !== 'object' || issue === null) continue;
    const { path, message } = issue as { path?: unknown; message?: unknown };
    const field = typeof path === 'string' && path ? fieldName(path) : '';
    if (typeof message === 'string' && message && !byField.has(field)) byField.set(field, message);
  }
  if (byField.size === 0) return error.message;
  return [...byField].map(([field, message]) => (field ? `${field}: ${message}` : message)).join('; ');
}

/** A field's path as a person reads it: `patch.title` is "Title", `name` "Name", `permissions.0` "Permissions". */
function fieldName(path: string): string {
  const name = path.split('.').findLast((part) => !/^\d+$/.test(part)) ?? path;
  return name.charAt(0).toUpperCase() + name.slice(1);
}
