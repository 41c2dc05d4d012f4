import type { IncomingMessage } from 'node:http';

/**
 * Whether a socket handshake may come from the page that opened it (DESIGN §5, `CORS_ORIGINS`).
 * Browsers hold a WebSocket to no CORS rule, so the server reads the Origin they send: a page is
 * let in from the server's own origin (its Host, the X-Forwarded-Host of a proxy in front that
 * rewrites it, or `PUBLIC_URL`'s: a page can set none of these) or from one of `corsOrigins`. A
 * request without an Origin is no browser's (a bot, the SDK in Node) and is let in.
 */
export function originAllowed(request: IncomingMessage, publicUrl: string, corsOrigins: string[] | null): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const page = parsed(origin);
  if (!page) return false;
  if (page.host === request.headers.host || page.host === forwardedHost(request)) return true;
  return [publicUrl, ...(corsOrigins ?? [])].some((allowed) => parsed(allowed)?.origin === page.origin);
}

function parsed(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null; // "null" (a sandboxed page, a file), or no URL at all
  }
}

function forwardedHost(request: IncomingMessage): string | undefined {
  const header = request.headers['x-forwarded-host'];
  return (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
}
