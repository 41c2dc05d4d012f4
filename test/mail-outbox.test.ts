import { describe, expect, it } from 'vitest';
import { type Mail, MailOutbox } from '../server/mail/mailer.js';

// The outbox sends in the background and reports a mail that did not go out, once; a stop waits
// for it (`settle`) no longer than it is told.
const mail: Mail = { to: 'someone@example.test', subject: 'Hello', text: 'Hi' };

describe('the mail outbox', () => {
  it('reports a mail still going out when the wait ends as not sent, once, and closes the mailer', async () => {
    let closed = 0;
    const outbox = new MailOutbox({ send: () => new Promise<void>(() => {}), close: () => void (closed += 1) });
    const failures: unknown[] = [];
    outbox.post(mail, (error) => failures.push(error));
    expect(outbox.size).toBe(1);
    await outbox.settle(20);
    expect(failures).toEqual([new Error('the server stopped before the mail went out')]);
    expect(closed).toBe(1);
  });

  it('fails a mail whose mailer throws at once, without failing whoever posted it', async () => {
    const outbox = new MailOutbox({
      send: () => {
        throw new Error('no route to the mail server');
      },
    });
    const failures: unknown[] = [];
    expect(() => outbox.post(mail, (error) => failures.push(error))).not.toThrow();
    await outbox.settle(60_000); // resolves as soon as the mail has failed
    expect(failures).toEqual([new Error('no route to the mail server')]);
    expect(outbox.size).toBe(0);
  });

  it('reports nothing for a mail that went out, and survives a report that throws', async () => {
    const sent: Mail[] = [];
    const outbox = new MailOutbox({
      send: async (each) => {
        if (each.to === 'other@example.test') throw new Error('refused');
        sent.push(each);
      },
    });
    const failures: unknown[] = [];
    outbox.post(mail, (error) => failures.push(error));
    // Its report throws, long before any stop: vitest fails the run on an unhandled rejection.
    let reported!: () => void;
    const reporting = new Promise<void>((resolve) => (reported = resolve));
    outbox.post({ ...mail, to: 'other@example.test' }, () => {
      reported();
      throw new Error('the log is gone');
    });
    await reporting;
    await new Promise((resolve) => setImmediate(resolve)); // Node tracks unhandled rejections once a turn is over
    await outbox.settle(60_000);
    expect(sent.map((each) => each.to)).toEqual(['someone@example.test']);
    expect(failures).toEqual([]);
  });
});
