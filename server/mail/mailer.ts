import type { FastifyBaseLogger } from 'fastify';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where outgoing mail goes. The default logs each message (with its links) at `info`; to send
 * real mail, give `buildServer` a mailer that hands messages to an SMTP transport, for example
 * nodemailer's `createTransport(...).sendMail({from, ...mail})`.
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
