/**
 * AWS SDK errors to the error taxonomy (src/domain/errors.ts), in one place. The message names the
 * service, what was being done and the AWS error code, never request parameters (they may carry
 * user data) and never credentials.
 */
import { RunnerOpsError, isRunnerOpsError, type ErrorCode } from '../../domain/errors';

const THROTTLING = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException',
  'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'PriorRequestNotComplete',
]);
const DENIED = new Set([
  'UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'UnrecognizedClientException',
  'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'AuthFailure', 'SignatureDoesNotMatch',
  'OptInRequired', 'InvalidUserID.NotFound',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

/** The AWS error code (`name` in SDK v3) or Node's network error code, when there is one. */
export function awsErrorCode(err: unknown): string | undefined {
  const s = shape(err);
  if (typeof s.code === 'string' && NETWORK.has(s.code)) return s.code;
  return typeof s.name === 'string' && s.name !== 'Error' ? s.name : (typeof s.code === 'string' ? s.code : undefined);
}

/**
 * `service` is a label such as `EC2`; `action` says what was being done (`DescribeInstances`).
 * Already-classified errors pass through unchanged.
 */
export function fromAwsError(err: unknown, service: string, action: string): RunnerOpsError {
  if (isRunnerOpsError(err)) return err;
  const s = shape(err);
  const name = awsErrorCode(err) ?? 'UnknownError';
  const status = typeof s.$metadata?.httpStatusCode === 'number' ? s.$metadata.httpStatusCode : undefined;
  const text = typeof s.message === 'string' ? s.message.split('\n')[0]?.slice(0, 300) ?? '' : '';
  let code: ErrorCode;
  let hint = '';
  if (name === 'AbortError' || name === 'TimeoutError') {
    code = 'timeout';
  } else if (THROTTLING.has(name) || status === 429) {
    code = 'throttled';
  } else if (DENIED.has(name)) {
    code = 'external';
    hint = name.startsWith('Expired') || name === 'InvalidClientTokenId' || name === 'UnrecognizedClientException' || name === 'AuthFailure'
      ? ' (the AWS credentials are invalid or expired)'
      : ' (the IAM policy of the bot or of the environment role does not allow this)';
  } else if (name === 'CredentialsProviderError' || name === 'ProviderError') {
    code = 'external';
    hint = ' (no usable AWS credentials: check the credential chain and roleArn)';
  } else if (NETWORK.has(name) || (status !== undefined && status >= 500)) {
    code = 'unavailable';
  } else if (status === undefined && (name === 'TypeError' || name === 'UnknownError')) {
    code = 'unavailable';
  } else {
    code = 'external';
  }
  return new RunnerOpsError(code, `${service} ${action} failed: ${name}${text !== '' && text !== name ? ` - ${text}` : ''}${hint}`, { cause: err });
}
