/**
 * A refusal in words, over HTTP or a socket: a schema's refusal by what it found wrong, each field
 * once ("Url: an http:// or https:// URL, …", "Name: must have a character that shows, …"), not
 * its generic "the payload does not match the schema"; any other refusal by its message.
 */
export function refusalText(error: { code?: string; message?: string; details?: unknown } | undefined): string | undefined {
  if (error?.code !== 'VALIDATION_FAILED' || !Array.isArray(error.details)) return error?.message;
  const byField = new Map<string, string>();
  for (const issue of error.details as { path?: unknown; message?: unknown }[]) {
    const field = typeof issue.path === 'string' ? issue.path : '';
    if (typeof issue.message === 'string' && issue.message && !byField.has(field)) byField.set(field, issue.message);
  }
  if (byField.size === 0) return error.message;
  return [...byField].map(([field, message]) => (field ? `${fieldName(field)}: ${message}` : message)).join('; ');
}

/** A field's path as a person reads it: `patch.title` is "Title", `name` "Name". */
function fieldName(path: string): string {
  const last = path.split('.').at(-1) ?? path;
  return last.charAt(0).toUpperCase() + last.slice(1);
}
