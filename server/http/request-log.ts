import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are secrets: an invitation link mailed before its token moved to the fragment (`/invite?token=…`). */
const SECRET_PARAMS = new Set(['token']);

/**
 * A request as the log writes it: what fastify writes (method, URL, host, client), with the value
 * of a `token` parameter in the URL written as `[redacted]`, however its name is spelt, and no
 * fragment (a browser sends none, but other clients may).
 */
export function loggedRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: withoutSecrets(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

function withoutSecrets(url: string): string {
  const [beforeFragment = ''] = url.split('#', 1);
  const at = beforeFragment.indexOf('?');
  if (at === -1) return beforeFragment;
  const pairs = beforeFragment.slice(at + 1).split('&');
  const kept = pairs.map((pair) => {
    const [name = ''] = pair.split('=', 1);
    return SECRET_PARAMS.has(decodedName(name).toLowerCase()) ? `${name}=[redacted]` : pair;
  });
  return `${beforeFragment.slice(0, at)}?${kept.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
