import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { eventually } from './support/sockets.js';

// With SMTP_URL, invitations go out as mail through a real SMTP server (one of the test's own,
// on loopback); a mail server that is down leaves the invitation standing, answered as usual
// (the failure is logged).
interface Received {
  from: string;
  to: string[];
  message: string;
}

let db: TestDatabase;
let smtp: SMTPServer;
const received: Received[] = [];
let mailing: RunningServer;
let owner: TestUser;
let org: TestOrg;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          message: Buffer.concat(chunks).toString('utf8'),
        });
        done();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const port = (smtp.server.address() as AddressInfo).port;
  mailing = await mailingThrough(port, { MAIL_FROM: 'TaskFlow <board@example.test>', PUBLIC_URL: 'https://board.example.test' });
  owner = await registerUser(mailing.url, 'owner');
  org = await createOrg(mailing.url, owner);
});

/** A node of its own on the test's database, mailing through the SMTP server on `port`. */
function mailingThrough(port: number, env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer({ DATABASE_URL: db.url, SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'board@example.test', ...env });
}

/** The org's owner invites `email` through `node`. */
function invite(node: RunningServer, email: string, role: string) {
  return api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email, role }, owner.token);
}

afterAll(async () => {
  await mailing?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await db?.drop();
});

describe('invitation mail over SMTP', () => {
  it('sends the invited address a mail from MAIL_FROM with the link to accept it', async () => {
    const answer = await invite(mailing, 'Newcomer@Example.test', 'member');
    expect(answer.status).toBe(202);
    // Sent after the answer, which does not wait for the mail server.
    const mailTo = () => received.find((each) => each.to.includes('newcomer@example.test'));
    await eventually(() => expect(mailTo()).toBeDefined());
    const mail = mailTo()!;
    expect(mail.from).toBe('board@example.test');
    expect(mail.message).toContain(`Subject: You are invited to Org ${org.slug} on TaskFlow`);
    expect(quotedPrintable(mail.message)).toMatch(/https:\/\/board\.example\.test\/invite#token=[\w-]+&email=newcomer%40example\.test/);
  });

  it('answers the invitation without waiting for a mail server that does not answer', async () => {
    const silent = createServer(() => {}); // takes the connection, never greets
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as AddressInfo).port;
    // A deadline shorter than the mailer's own wait for a greeting: were the answer to wait for the mail, it would be 503.
    const waiting = await mailingThrough(port, { ANSWER_DEADLINE: '1s' });
    try {
      const answer = await invite(waiting, 'patient@example.test', 'member');
      expect(answer.status).toBe(202);
    } finally {
      await waiting.close();
      silent.close();
    }
  });

  it('sends the mail still going out when the node stops, before the stop is over', async () => {
    // A slow mail server: it takes a second and a half to accept each recipient.
    const slow = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onRcptTo(_address, _session, accept) {
        setTimeout(accept, 1500);
      },
      onData(stream, session, done) {
        stream.resume();
        stream.on('end', () => {
          received.push({ from: '', to: session.envelope.rcptTo.map((rcpt) => rcpt.address), message: '' });
          done();
        });
      },
    });
    slow.listen(0, '127.0.0.1');
    await once(slow.server, 'listening');
    const stopping = await mailingThrough((slow.server.address() as AddressInfo).port);
    const stopped = (async () => {
      expect((await invite(stopping, 'deployed@example.test', 'member')).status).toBe(202);
    })().finally(() => stopping.close()); // a deploy, right after the answer
    try {
      await stopped;
      expect(received.some((mail) => mail.to.includes('deployed@example.test'))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('keeps the invitation when the mail server is down, and answers it as usual', async () => {
    const port = await freePort(); // nothing listens there
    const unmailed = await mailingThrough(port);
    try {
      const answer = await invite(unmailed, 'later@example.test', 'viewer');
      expect(answer.status).toBe(202);
      expect(answer.body.invite).toMatchObject({ email: 'later@example.test', role: 'viewer' });
      const pending = await api(unmailed.url, 'GET', `/orgs/${org.slug}/invites`, undefined, owner.token);
      expect(pending.body.map((invite: { email: string }) => invite.email)).toContain('later@example.test');
    } finally {
      await unmailed.close();
    }
  });
});

/** A message's text as written: quoted-printable's soft line breaks and escapes undone. */
function quotedPrintable(message: string): string {
  return message.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
