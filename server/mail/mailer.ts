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
}

export function logMailer(log: FastifyBaseLogger): Mailer {
  return {
    async send(mail) {
      log.info({ mail: { to: mail.to, subject: mail.subject } }, `mail to ${mail.to}: ${mail.subject}\n${mail.text}`);
    },
  };
}
