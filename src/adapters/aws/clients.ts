/**
 * The AWS client factory. Only main.ts calls `createAwsClientFactory`; everything else receives
 * `AwsClients` (or one client) as an argument.
 *
 * Contracts (CONTRACT §2, §6; DESIGN §2):
 * - No endpoint is set here, so the SDK's own `AWS_ENDPOINT_URL_EC2` / `_SSM` / `_ECR` / `_STS`
 *   variables take effect (SQS sends to the host inside each queue URL instead, see `sqsFor`).
 * - `retryMode: 'adaptive'`: the SDK retries throttling with a client-side token bucket. The bucket
 *   lives in the client, so clients are built once per (region, role, session name) and cached;
 *   building one per call would give every call a fresh, full bucket.
 * - Where the environment names `roleArn`, credentials come from STS AssumeRole of that role
 *   (`fromTemporaryCredentials`). The client memoizes them and asks STS again before they expire
 *   (the SDK refreshes identities that expire within five minutes), so long operations keep
 *   working across the one-hour session limit.
 * - The STS session name is `runner-ops` unless the caller names one (an operation names itself,
 *   CONTRACT §6: "session name naming the operation"); it is sanitised to STS's grammar.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials, type FromTemporaryCredentialsOptions } from '@aws-sdk/credential-providers';
import type { EnvironmentConfig } from '../../config/fleet-schema';

export interface AwsClients {
  ec2: EC2Client;
  ssm: SSMClient;
  ecr: ECRClient;
}

/** Credentials used to call STS AssumeRole (and, without `roleArn`, AWS itself). Default: the SDK chain. */
export type BaseCredentials = NonNullable<FromTemporaryCredentialsOptions['masterCredentials']>;

export interface AwsClientFactoryOptions {
  baseCredentials?: BaseCredentials;
  /**
   * How many (region, role, session name) client sets to keep. Named sessions (one per operation)
   * would otherwise accumulate in a long-running bot; the least recently used set is dropped
   * (not destroyed: an operation still holding it keeps working, the GC reclaims it after).
   */
  maxCachedSets?: number;
  /**
   * Where the SQS clients log (the SDK's logger interface). The SQS client warns on every request
   * whose queue URL is not on the region's default endpoint (a local SQS); without a logger that
   * goes to the console.
   */
  logger?: SdkLogger;
}

/** The AWS SDK's logger interface. */
export interface SdkLogger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

/**
 * SQS clients for the Spot alert queues (CONTRACT §6). One per region and role, built on first use
 * and kept: same adaptive retry mode and credentials as the other clients. Requests go to the host
 * inside each call's QueueUrl (the SDK's `useQueueUrlAsEndpoint`), so `region` is what it signs with.
 */
export interface SqsClientFactory {
  sqsFor(location: { region: string; roleArn?: string | undefined }): SQSClient;
}

export interface AwsClientFactory {
  forEnvironment(env: Pick<EnvironmentConfig, 'region' | 'roleArn'>, sessionName?: string): AwsClients;
}

export const DEFAULT_SESSION_NAME = 'runner-ops';

/**
 * STS RoleSessionName: 2 to 64 characters of `[\w+=,.@-]`. Anything else becomes `-`; a name that
 * would be too short is padded from the default name.
 */
export function sanitizeSessionName(name: string): string {
  let s = name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  if (s.length < 2) s = `${DEFAULT_SESSION_NAME}-${s}`.slice(0, 64).replace(/-$/, '');
  return s;
}

export function createAwsClientFactory(opts: AwsClientFactoryOptions = {}): AwsClientFactory & SqsClientFactory {
  const cache = new Map<string, AwsClients>();
  const sqsClients = new Map<string, SQSClient>();
  const maxSets = Math.max(1, opts.maxCachedSets ?? 64);

  function configFor(region: string, roleArn: string | undefined, sessionName: string) {
    const credentials = roleArn !== undefined
      ? fromTemporaryCredentials({
        params: { RoleArn: roleArn, RoleSessionName: sessionName },
        // The STS call goes to the environment's region (regional endpoint, AWS_ENDPOINT_URL_STS honoured).
        clientConfig: { region },
        ...(opts.baseCredentials !== undefined ? { masterCredentials: opts.baseCredentials } : {}),
      })
      : opts.baseCredentials;
    return {
      region,
      retryMode: 'adaptive' as const,
      ...(credentials !== undefined ? { credentials } : {}),
    };
  }

  function build(region: string, roleArn: string | undefined, sessionName: string): AwsClients {
    const config = configFor(region, roleArn, sessionName);
    return { ec2: new EC2Client(config), ssm: new SSMClient(config), ecr: new ECRClient(config) };
  }

  return {
    forEnvironment(env, sessionName) {
      // Without a role the session name means nothing: one set per region.
      const session = env.roleArn !== undefined ? sanitizeSessionName(sessionName ?? DEFAULT_SESSION_NAME) : '';
      const key = JSON.stringify([env.region, env.roleArn ?? '', session]);
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key); // re-insert: Map order is the LRU order
        cache.set(key, hit);
        return hit;
      }
      const clients = build(env.region, env.roleArn, session);
      cache.set(key, clients);
      while (cache.size > maxSets) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return clients;
    },
    sqsFor(location) {
      const key = JSON.stringify([location.region, location.roleArn ?? '']);
      let client = sqsClients.get(key);
      if (client === undefined) {
        const config = configFor(location.region, location.roleArn, DEFAULT_SESSION_NAME);
        client = new SQSClient({ ...config, ...(opts.logger === undefined ? {} : { logger: opts.logger }) });
        sqsClients.set(key, client);
      }
      return client;
    },
  };
}
