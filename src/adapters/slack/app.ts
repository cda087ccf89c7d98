/**
 * Bolt, in one of two transports: HTTP (our server hands `POST /slack/events` to Bolt's
 * HTTPReceiver, which verifies the signing secret) or Socket Mode (when an app-level token is
 * set; our server still serves /healthz and /metrics). Listeners hold the logic; this file only
 * wires transport.
 */
import { App, ErrorCode, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { SLACK_EVENTS_PATH } from '../../http/server';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  clientOptions: WebClientOptions;
  log: Logger;
}

export interface SlackApp {
  app: App;
  /** Set in HTTP mode: the handler for POST /slack/events. */
  httpListener?: RequestListener;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Bolt's logger interface over pino (Bolt logs strings; keep them at their levels). */
function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'bolt' });
  const join = (msg: unknown[]): string => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => child.debug(join(m)),
    info: (...m: unknown[]) => child.info(join(m)),
    warn: (...m: unknown[]) => child.warn(join(m)),
    error: (...m: unknown[]) => child.error(join(m)),
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function createSlackApp(opts: SlackAppOptions): SlackApp {
  const logger = boltLogger(opts.log);
  if (opts.appToken !== undefined) {
    const app = new App({ token: opts.botToken, appToken: opts.appToken, socketMode: true, logger, clientOptions: opts.clientOptions });
    return { app, start: async () => { await app.start(); }, stop: async () => { await app.stop(); } };
  }
  if (opts.signingSecret === undefined) throw new Error('SLACK_SIGNING_SECRET is required in HTTP mode');
  const receiver = new HTTPReceiver({
    signingSecret: opts.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    logger,
    // Slack sends small payloads; anything larger is refused before it is parsed.
    bodyLimit: 256 * 1024,
    // Every listener acks first, so an error before the answer was sent means Bolt could not
    // process the (signed) payload itself, e.g. one without the `user` Slack always sends: that is
    // a bad request (400), not a server error. Errors after the ack are logged by the listeners.
    processEventErrorHandler: async ({ error, response }) => {
      if (response.headersSent) return false;
      const unauthorized = (error as { code?: unknown }).code === ErrorCode.AuthorizationError;
      logger.warn(`refused an event Bolt could not process: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(unauthorized ? 401 : 400);
      response.end();
      return true;
    },
  });
  const app = new App({ token: opts.botToken, receiver, logger, clientOptions: opts.clientOptions });
  return {
    app,
    httpListener: receiver.requestListener,
    // Our own HTTP server carries the receiver; nothing to start or stop here.
    start: async () => undefined,
    stop: async () => undefined,
  };
}
