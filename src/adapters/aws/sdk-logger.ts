/**
 * The AWS SDK's logger interface over pino (component `aws-sdk`). The SQS client warns on every
 * request whose queue URL is not on the region's default endpoint ("QueueUrl=… differs from
 * SQSClient resolved endpoint", expected for a local SQS): that one is logged at debug.
 */
import type { Logger } from 'pino';
import { redact } from '../../domain/redact';
import type { SdkLogger } from './clients';

function line(content: unknown[]): string {
  return redact(content.map((c) => (typeof c === 'string' ? c : c instanceof Error ? c.message : JSON.stringify(c))).join(' ')).slice(0, 500);
}

export function sdkLoggerFrom(pino: Logger): SdkLogger {
  const log = pino.child({ component: 'aws-sdk' });
  return {
    debug: (...c: unknown[]) => { if (log.isLevelEnabled('debug')) log.debug(line(c)); },
    info: (...c: unknown[]) => { if (log.isLevelEnabled('debug')) log.debug(line(c)); },
    warn: (...c: unknown[]) => {
      const text = line(c);
      if (text.startsWith('QueueUrl=')) log.debug(text);
      else log.warn(text);
    },
    error: (...c: unknown[]) => log.error(line(c)),
  };
}
