import { createTransport } from 'nodemailer';
import type { Mailer } from './mailer.js';

/** How long a mail may take at each step: an SMTP server that does not answer is given up on, and logged. */
const CONNECT_MS = 3000;
const GREETING_MS = 3000;
const SILENCE_MS = 5000;

/** Sends mail through the SMTP server at `url` (`smtp://user:pass@host:587`, or `smtps://` for TLS from the start), as `from`. */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = createTransport(
    { url, connectionTimeout: CONNECT_MS, greetingTimeout: GREETING_MS, socketTimeout: SILENCE_MS },
    { from },
  );
  return {
    async send(mail) {
      await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}
