import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { captureMail } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { connect } from './support/sockets.js';

// A forgotten password: `POST /auth/password-reset` mails the account's address a link, whose
// token sets a new password once, before it expires, and ends every session signed in before.
// Whoever asks learns nothing of which addresses have accounts.

const PASSWORD = 'correct horse battery';
const PUBLIC_URL = 'https://board.example.test';
let db: TestDatabase;
let node: RunningServer;
const capture = captureMail();

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, PUBLIC_URL }, { mailer: capture.mailer });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

const askReset = (email: string) => api(node.url, 'POST', '/auth/password-reset', { email });
const confirm = (token: string, password: string) => api(node.url, 'POST', '/auth/password-reset/confirm', { token, password });
const check = (token: string) => api(node.url, 'POST', '/auth/password-reset/check', { token });
const login = (email: string, password: string) => api(node.url, 'POST', '/auth/login', { email, password });
const mailsTo = (email: string) => capture.mails.filter((mail) => mail.to === email.toLowerCase());

/** The token of the link in the latest reset mail to `email`. */
function linkToken(email: string): string {
  const text = mailsTo(email).at(-1)?.text ?? '';
  const link = text.match(/https:\/\/board\.example\.test\/reset-password#token=([\w-]+)/);
  if (!link) throw new Error(`no reset link mailed to ${email}: ${text}`);
  return link[1]!;
}

describe('a password reset', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await registerUser(node.url, 'forgot');
  });

  it('mails a link that sets a new password once, ends every session signed in before, and signs in', async () => {
    const asked = await askReset(user.email.toUpperCase());
    expect(asked).toEqual({ status: 202, body: {} });
    expect(mailsTo(user.email)).toHaveLength(1);
    expect(mailsTo(user.email)[0]!.subject).toBe('Reset your TaskFlow password');
    const token = linkToken(user.email);

    const reset = await confirm(token, 'a password I will remember');
    expect(reset.status).toBe(200);
    expect(reset.body.user).toEqual(user.user);
    expect((await api(node.url, 'GET', '/me', undefined, reset.body.token)).status).toBe(200);
    expect((await api(node.url, 'GET', '/me', undefined, user.token)).status).toBe(401);
    await expect(connect(node.url, { token: user.token })).rejects.toThrow('UNAUTHORIZED');
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, 'a password I will remember')).status).toBe(200);

    const again = await confirm(token, 'someone else sets this');
    expect(again.status).toBe(403);
    expect(again.body.error).toMatchObject({ code: 'FORBIDDEN' });
    expect((await login(user.email, 'a password I will remember')).status).toBe(200);
  });

  it("lets the owner of an account locked by someone else's wrong passwords sign in once they reset it", async () => {
    const locked = await registerUser(node.url, 'locked-out');
    for (let i = 0; i < 10; i++) expect((await login(locked.email, `guess ${i}`)).status).toBe(401);
    expect((await login(locked.email, PASSWORD)).status).toBe(429);
    await askReset(locked.email);
    expect((await confirm(linkToken(locked.email), 'my own again')).status).toBe(200);
    expect((await login(locked.email, 'my own again')).status).toBe(200);
  });

  it('answers an address without an account exactly as one with, and mails it nothing', async () => {
    const before = capture.mails.length;
    expect(await askReset('nobody-here@example.test')).toEqual({ status: 202, body: {} });
    expect(capture.mails.length).toBe(before);
  });

  it('works only with the latest link, and not once it has expired', async () => {
    const other = await registerUser(node.url, 'twice');
    await askReset(other.email);
    const first = linkToken(other.email);
    await askReset(other.email);
    const second = linkToken(other.email);
    expect(second).not.toBe(first);
    expect((await confirm(first, 'the first link tried')).status).toBe(403);

    await db.query(`update users set password_reset_expires_at = now() - interval '1 second' where id = $1`, [other.user.id]);
    expect((await confirm(second, 'too late for this one')).status).toBe(403);
    expect((await login(other.email, PASSWORD)).status).toBe(200);
  });

  it('tells whether a link works before a password is typed: 204 while it does, and as the confirm would once used, replaced or expired', async () => {
    const checked = await registerUser(node.url, 'checked');
    await askReset(checked.email);
    const first = linkToken(checked.email);
    expect(await check(first)).toEqual({ status: 204, body: null });
    expect(await check(first)).toEqual({ status: 204, body: null }); // asking spends nothing
    await askReset(checked.email);
    const second = linkToken(checked.email);
    const replaced = await check(first);
    expect(replaced).toEqual({ status: 403, body: (await confirm(first, 'a password I will remember')).body });
    expect(replaced.body.error.message).toContain('ask for a new one');
    expect((await check(second)).status).toBe(204);
    expect((await confirm(second, 'a password I will remember')).status).toBe(200);
    expect((await check(second)).status).toBe(403);
    expect((await check('x'.repeat(43))).status).toBe(403);
    for (const body of [{}, { token: '' }, { token: second, password: 'a long enough password' }]) {
      const refused = await api(node.url, 'POST', '/auth/password-reset/check', body);
      expect(refused).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    }
  });

  it('mails an address at most three times an hour, with the same answer after', async () => {
    const flooded = await registerUser(node.url, 'flooded');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await askReset(flooded.email));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    expect(mailsTo(flooded.email)).toHaveLength(3);
    // The last link mailed still works: a held-back request replaced nothing.
    expect((await confirm(linkToken(flooded.email), 'after the flood')).status).toBe(200);
  });

  it('keeps a pending link working through a sign-out of the other sessions', async () => {
    const careful = await registerUser(node.url, 'careful');
    await askReset(careful.email);
    const signedOut = await api(node.url, 'POST', '/auth/sign-out-others', undefined, careful.token);
    expect(signedOut.status).toBe(200);
    expect((await confirm(linkToken(careful.email), 'set after the sign-out')).status).toBe(200);
  });

  it('refuses a made-up token and a short password, changing nothing', async () => {
    const guessed = await confirm('x'.repeat(43), 'a long enough password');
    expect(guessed.status).toBe(403);
    const short = await confirm('x'.repeat(43), 'short');
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('VALIDATION_FAILED');
    expect((await askReset('not an address')).status).toBe(400);
  });
});
