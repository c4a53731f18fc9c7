/**
 * Sends mail through the SMTP relay an admin configured (`oarcloud notify smtp ..`), with nodemailer. One transport
 * per relay setting, reused while the setting holds.
 */
import nodemailer, { type Transporter } from 'nodemailer';

export interface SmtpRelay {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  /** Accept a relay's self-signed certificate (a relay on the same machine or site). */
  allowSelfSigned?: boolean;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export class Mailer {
  private transport?: { key: string; transporter: Transporter };

  async send(relay: SmtpRelay, mail: Mail): Promise<void> {
    const key = JSON.stringify(relay);
    if (this.transport?.key !== key) {
      this.transport?.transporter.close();
      this.transport = {
        key,
        transporter: nodemailer.createTransport({
          host: relay.host,
          port: relay.port,
          secure: relay.secure,
          auth: relay.user ? { user: relay.user, pass: relay.password ?? '' } : undefined,
          tls: relay.allowSelfSigned ? { rejectUnauthorized: false } : undefined,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 20_000,
        }),
      };
    }
    await this.transport.transporter.sendMail({ from: relay.from, to: mail.to, subject: mail.subject, text: mail.text });
  }

  close(): void {
    this.transport?.transporter.close();
    this.transport = undefined;
  }
}
