/** JSON logs (pino): one line per event, with the request id when there is one. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = 'info', file?: string): Logger {
  return pino({ level, base: { svc: 'oarcloud' } }, file ? pino.destination({ dest: file, mkdir: true, sync: false }) : undefined);
}
