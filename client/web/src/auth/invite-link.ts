/**
 * An invitation link, as mailed: `/invite#token=…&email=…` (in the fragment, which no server log
 * sees; links mailed before carried them in the query string). It names the invited address, not
 * the org: the token is all the server knows it by.
 */
export function invitationOfLink(): { email: string; token: string | undefined } | null {
  if (location.pathname !== '/invite') return null;
  const fragment = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const param = (name: string) => fragment.get(name) ?? query.get(name);
  const email = param('email');
  return email ? { email, token: param('token') || undefined } : null;
}

/** Whether an account was just made from an invitation link in this tab (read once, by the page it lands on). */
let registeredFromInvite = false;

export function markRegisteredFromInvite(): void {
  registeredFromInvite = true;
}

export function takeRegisteredFromInvite(): boolean {
  const was = registeredFromInvite;
  registeredFromInvite = false;
  return was;
}
