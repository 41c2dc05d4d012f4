import type { FastifyBaseLogger } from 'fastify';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where outgoing mail goes: through SMTP with `SMTP_URL` (`smtp-mailer.ts`), or else logged, each
 * message (with its links) at `info`; `buildServer` takes any other.
 */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  /** Closes it (its SMTP transport), once no mail is going out. */
  close?(): void;
}

export function logMailer(log: FastifyBaseLogger): Mailer {
  return {
    async send(mail) {
      log.info({ mail: { to: mail.to, subject: mail.subject } }, `mail to ${mail.to}: ${mail.subject}\n${mail.text}`);
    },
  };
}

/**
 * Mail sent in the background: a request is answered without waiting for its mail, and a mail
 * that does not go out is logged, never thrown. A stop waits for the mail still going out
 * (`settle`), so what was answered just before a restart is still mailed.
 */
export class MailOutbox {
  /** The mail going out, each with how to report that it did not. */
  private readonly sending = new Map<Promise<void>, (error: unknown) => void>();

  constructor(private readonly mailer: Mailer) {}

  /** Sends `mail` in the background; `failed` is told why, once, should it not go out. */
  post(mail: Mail, failed: (error: unknown) => void): void {
    let reported = false;
    const fail = (error: unknown) => {
      if (reported) return;
      reported = true;
      try {
        failed(error);
      } catch {
        // a report that fails must not become an unhandled rejection
      }
    };
    const sent: Promise<void> = Promise.resolve()
      .then(() => this.mailer.send(mail)) // a mailer that throws at once fails the mail, not the request
      .catch(fail)
      .finally(() => this.sending.delete(sent));
    this.sending.set(sent, fail);
  }

  /** How many mails are going out. */
  get size(): number {
    return this.sending.size;
  }

  /**
   * Resolves once the mail going out has gone or failed, or after `withinMs`, reporting each mail
   * still going out then as not sent; then the mailer closes.
   */
  async settle(withinMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.sending.keys()),
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, withinMs)))),
    ]);
    clearTimeout(timer);
    for (const fail of this.sending.values()) fail(new Error('the server stopped before the mail went out'));
    this.mailer.close?.();
  }
}
