/**
 * The runner authentication token's home: the SSM SecureString named by `gitlab.tokenParameter`
 * (CONTRACT §6). The manager reads it there at bootstrap; nothing else ever carries the token.
 *
 * PutParameter rules this module follows:
 * - `Tags` are accepted only when the parameter is created; AWS refuses `Tags` together with
 *   `Overwrite: true` (ValidationException). So: absent -> Overwrite false + Tags; present ->
 *   Overwrite true, no Tags (the tags from creation stay).
 * - Without `Overwrite` an existing name fails with ParameterAlreadyExists: that is a race with
 *   another writer, and the write is repeated once as an overwrite.
 * - Every put makes a new version; `restoreTokenVersion` brings an older value back as the newest
 *   version (the history keeps at most 100 versions).
 *
 * Secrecy: the value leaves the process only in the PutParameter request. Errors are built from
 * the AWS error name and message (fromAwsError), then scrubbed of the value and of anything
 * `redact` recognises, and carry no SDK error as cause (a cause is logged with its message), so
 * a service message that echoed a request member could not leak it either.
 */
import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  type PutParameterCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { RunnerOpsError, isRunnerOpsError } from '../../domain/errors';
import { REDACTED, redact } from '../../domain/redact';
import { Secret } from '../../domain/secret';
import { awsErrorCode, fromAwsError } from './errors';
import { MANAGED_BY_VALUE, TAG } from './tags';

export interface ParameterState {
  exists: boolean;
  version: number | undefined;
}

export interface SsmCallOptions {
  abortSignal?: AbortSignal;
}

function sendOptions(opts: SsmCallOptions): { abortSignal?: AbortSignal } {
  return opts.abortSignal !== undefined ? { abortSignal: opts.abortSignal } : {};
}

/** fromAwsError with the secret (when there is one) and known token formats taken out, and no SDK cause. */
function ssmError(err: unknown, action: string, secret?: Secret): RunnerOpsError {
  // Our own errors (built from names and numbers only) pass unchanged.
  if (isRunnerOpsError(err)) return err;
  const mapped = fromAwsError(err, 'SSM', action);
  const value = secret?.reveal() ?? '';
  const scrub = (text: string) => redact(value === '' ? text : text.split(value).join(REDACTED));
  const name = awsErrorCode(err);
  return new RunnerOpsError(mapped.code, scrub(mapped.message), {
    ...(mapped.detail !== undefined ? { detail: scrub(mapped.detail) } : {}),
    ...(name !== undefined ? { cause: { name } } : {}),
  });
}

function newVersion(version: number | undefined, name: string): number {
  if (version === undefined) throw new RunnerOpsError('external', `SSM PutParameter on ${name} answered without a Version`);
  return version;
}

/**
 * The parameter's metadata: GetParameter WITHOUT decryption (the answer's Value is ciphertext,
 * and no kms:Decrypt is needed); only Version is read. ParameterNotFound -> `{ exists: false }`.
 */
export async function describeTokenParameter(ssm: SSMClient, name: string, opts: SsmCallOptions = {}): Promise<ParameterState> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false }), sendOptions(opts));
    return { exists: true, version: out.Parameter?.Version };
  } catch (err) {
    if (awsErrorCode(err) === 'ParameterNotFound') return { exists: false, version: undefined };
    throw ssmError(err, `GetParameter ${name}`);
  }
}

function tokenDescription(envName: string): string {
  return `runner-ops ${envName} runner authentication token (glrt-)`;
}

async function put(ssm: SSMClient, input: PutParameterCommandInput, opts: SsmCallOptions): Promise<number> {
  const out = await ssm.send(new PutParameterCommand(input), sendOptions(opts));
  return newVersion(out.Version, input.Name ?? '?');
}

/**
 * Stores the token as a new version of the SecureString `name` (default KMS key aws/ssm) and
 * returns that version and whether the parameter was created by this call. Creation tags it
 * `ManagedBy=runner-ops`, `runner-ops:environment=<env>`.
 */
export async function putRunnerToken(
  ssm: SSMClient,
  name: string,
  envName: string,
  token: Secret,
  opts: SsmCallOptions = {},
): Promise<{ version: number; created: boolean }> {
  const base = { Name: name, Type: 'SecureString' as const, Value: token.reveal(), Description: tokenDescription(envName) };
  const overwrite = async () => ({ version: await put(ssm, { ...base, Overwrite: true }, opts), created: false });
  try {
    const state = await describeTokenParameter(ssm, name, opts);
    if (state.exists) return await overwrite();
    try {
      const tags = [{ Key: TAG.managedBy, Value: MANAGED_BY_VALUE }, { Key: TAG.environment, Value: envName }];
      return { version: await put(ssm, { ...base, Overwrite: false, Tags: tags }, opts), created: true };
    } catch (err) {
      // Someone created it between the describe and the put: write over it, once.
      if (awsErrorCode(err) === 'ParameterAlreadyExists') return await overwrite();
      throw err;
    }
  } catch (err) {
    throw ssmError(err, `PutParameter ${name}`, token);
  }
}

/**
 * Makes the value of `version` the newest version again: GetParameter `name:version` with
 * decryption, then PutParameter with Overwrite. Returns the new version. A version that does not
 * exist (or fell out of the 100-version history) is 'not_found'.
 */
export async function restoreTokenVersion(ssm: SSMClient, name: string, version: number, opts: SsmCallOptions = {}): Promise<number> {
  let value: Secret;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: `${name}:${version}`, WithDecryption: true }), sendOptions(opts));
    const raw = out.Parameter?.Value;
    if (raw === undefined || raw === '') throw new RunnerOpsError('external', `SSM GetParameter ${name}:${version} answered without a value`);
    value = new Secret(raw);
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'ParameterVersionNotFound' || code === 'ParameterNotFound') {
      throw new RunnerOpsError('not_found', `SSM parameter ${name} has no version ${version} (the history keeps the last 100)`);
    }
    throw ssmError(err, `GetParameter ${name}:${version}`);
  }
  try {
    return await put(ssm, {
      Name: name,
      Type: 'SecureString',
      Value: value.reveal(),
      Overwrite: true,
      Description: `runner-ops runner authentication token (glrt-), restored from version ${version}`,
    }, opts);
  } catch (err) {
    throw ssmError(err, `PutParameter ${name}`, value);
  }
}

/** DeleteParameter (all versions). Idempotent: ParameterNotFound -> false; deleted -> true. */
export async function deleteTokenParameter(ssm: SSMClient, name: string, opts: SsmCallOptions = {}): Promise<boolean> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }), sendOptions(opts));
    return true;
  } catch (err) {
    if (awsErrorCode(err) === 'ParameterNotFound') return false;
    throw ssmError(err, `DeleteParameter ${name}`);
  }
}
