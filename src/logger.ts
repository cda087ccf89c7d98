/**
 * The pino root logger. Known secret-bearing fields are censored wherever they appear, as a
 * second line of defence: code never logs tokens on purpose.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'token', '*.token', 'botToken', 'appToken', 'signingSecret', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'password', '*.password', 'secret', '*.secret',
  'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'GITLAB_TOKEN',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { app: 'runner-ops' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
