/**
 * The Slack WebClient as runner-ops builds it (only main.ts calls this; tests point it at the
 * SlackFake). The same options go to Bolt's `App({ clientOptions })`, so listener clients and
 * job clients behave alike.
 *
 * Retry budget, and why: the library default (`tenRetriesInAboutThirtyMinutes`) can hold a job
 * for ~30 minutes on repeated 429s (DESIGN §2). Here a call gives up after 6 retries or once 60 s
 * have passed since its first attempt, whichever comes first. On a 429 the WebClient first waits
 * the Retry-After the server sent (rejectRateLimitedCalls: false), pausing its whole request
 * queue, and then this backoff applies on top; so Slack's own pacing is honoured and a stuck
 * Slack costs a job about a minute, not half an hour. Callers that must not fail on a Slack
 * hiccup (the thread reporter) catch and count the final error.
 */
import { WebClient, LogLevel, type Logger as SlackLogger, type RetryOptions, type WebClientOptions } from '@slack/web-api';
import type { Logger as PinoLogger } from 'pino';
import { redact } from '../../domain/redact';

export const SLACK_RETRY_CONFIG: Readonly<RetryOptions> = Object.freeze({
  retries: 6,
  factor: 2,
  minTimeout: 500,
  maxTimeout: 10_000,
  maxRetryTime: 60_000,
  randomize: true,
});

/** Per-request timeout (ms); a timed-out request counts as a failed attempt and is retried. */
export const SLACK_REQUEST_TIMEOUT_MS = 15_000;

export interface SlackClientSettings {
  /** Base URL of the Web API (SLACK_API_URL), ending in `/`. */
  apiUrl: string;
  logger?: PinoLogger;
  /** Tests only: a faster (still bounded) retry policy. */
  retryConfig?: RetryOptions;
  timeoutMs?: number;
}

const TO_SLACK: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG, debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN,
  error: LogLevel.ERROR, fatal: LogLevel.ERROR, silent: LogLevel.ERROR,
};

function line(args: unknown[]): string {
  return redact(args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' '));
}

/**
 * Adapts a pino logger to the @slack/logger interface. Messages are redacted (the library logs
 * request bodies at debug level) and logged under `component: "slack-web-api"`.
 */
export function slackLoggerFrom(pino: PinoLogger): SlackLogger {
  const log = pino.child({ component: 'slack-web-api' });
  return {
    debug: (...args: unknown[]) => { if (log.isLevelEnabled('debug')) log.debug(line(args)); },
    info: (...args: unknown[]) => log.info(line(args)),
    warn: (...args: unknown[]) => log.warn(line(args)),
    error: (...args: unknown[]) => log.error(line(args)),
    setLevel: (level: LogLevel) => { log.level = level; },
    getLevel: () => TO_SLACK[log.level] ?? LogLevel.INFO,
    setName: () => undefined,
  };
}

/** The WebClient options runner-ops uses everywhere (also Bolt's `clientOptions`). */
export function slackClientOptions(settings: SlackClientSettings): WebClientOptions {
  const options: WebClientOptions = {
    slackApiUrl: settings.apiUrl,
    retryConfig: { ...(settings.retryConfig ?? SLACK_RETRY_CONFIG) },
    rejectRateLimitedCalls: false,
    timeout: settings.timeoutMs ?? SLACK_REQUEST_TIMEOUT_MS,
    // The token is sent in the Authorization header; never follow a method name given as URL.
    allowAbsoluteUrls: false,
  };
  if (settings.logger !== undefined) options.logger = slackLoggerFrom(settings.logger);
  return options;
}

export function createWebClient(token: string, settings: SlackClientSettings): WebClient {
  return new WebClient(token, slackClientOptions(settings));
}
