import { inspect } from 'node:util';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { RunnerOpsError } from '../../domain/errors';
import { Secret } from '../../domain/secret';
import { deleteTokenParameter, describeTokenParameter, putRunnerToken, restoreTokenVersion } from './token-parameter';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-central-1' });
beforeEach(() => ssmMock.reset());

const NAME = '/runner-ops/prod/runner-token';
const VALUE = 'glrt-t1_TopSecretRunnerToken42';
const token = new Secret(VALUE);
const meta = { $metadata: {} };
const notFound = () => new ParameterNotFound({ message: 'not found', ...meta });

async function expectError(p: Promise<unknown>): Promise<RunnerOpsError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RunnerOpsError);
  return err as RunnerOpsError;
}

describe('describeTokenParameter', () => {
  it('reads the version without decryption', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Type: 'SecureString', Version: 3, Value: 'AQICAHh...ciphertext' } });
    expect(await describeTokenParameter(ssm, NAME)).toEqual({ exists: true, version: 3 });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: NAME, WithDecryption: false });
  });

  it('reports an absent parameter', async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    expect(await describeTokenParameter(ssm, NAME)).toEqual({ exists: false, version: undefined });
  });
});

describe('putRunnerToken', () => {
  it('creates an absent parameter with Tags and without Overwrite', async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    expect(await putRunnerToken(ssm, NAME, 'prod', token)).toEqual({ version: 1, created: true });

    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: NAME,
      Type: 'SecureString',
      Value: VALUE,
      Overwrite: false,
      Description: 'runner-ops prod runner authentication token (glrt-)',
      Tags: [{ Key: 'ManagedBy', Value: 'runner-ops' }, { Key: 'runner-ops:environment', Value: 'prod' }],
    });
  });

  it('overwrites an existing parameter without Tags', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Version: 4 } });
    ssmMock.on(PutParameterCommand).resolves({ Version: 5 });

    expect(await putRunnerToken(ssm, NAME, 'prod', token)).toEqual({ version: 5, created: false });

    const input = ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Name: NAME, Type: 'SecureString', Value: VALUE, Overwrite: true });
    expect(input).not.toHaveProperty('Tags');
  });

  it('repeats a create that lost a race (ParameterAlreadyExists) once as an overwrite', async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    ssmMock.on(PutParameterCommand, { Overwrite: false }).rejects(new ParameterAlreadyExists({ message: 'exists', ...meta }));
    ssmMock.on(PutParameterCommand, { Overwrite: true }).resolves({ Version: 2 });

    expect(await putRunnerToken(ssm, NAME, 'prod', token)).toEqual({ version: 2, created: false });

    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    const second = ssmMock.commandCalls(PutParameterCommand)[1]?.args[0].input;
    expect(second).toMatchObject({ Overwrite: true });
    expect(second).not.toHaveProperty('Tags');
  });

  it('never lets the value into an error, even when AWS echoes it', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Version: 1 } });
    ssmMock.on(PutParameterCommand).rejects(Object.assign(
      new Error(`1 validation error detected: Value '${VALUE}' at 'value' failed to satisfy constraint`),
      { name: 'ValidationException', $metadata: { httpStatusCode: 400 } },
    ));

    const err = await expectError(putRunnerToken(ssm, NAME, 'prod', token));

    expect(err.code).toBe('external');
    expect(err.message).toMatch(/SSM PutParameter \/runner-ops\/prod\/runner-token failed: ValidationException/);
    expect(err.message).toContain('[redacted]');
    expect(inspect(err, { depth: 8 })).not.toContain(VALUE);
    expect(JSON.stringify(err)).not.toContain(VALUE);
  });

  it('maps access denied to a non-retryable error', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const err = await expectError(putRunnerToken(ssm, NAME, 'prod', token));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/GetParameter .*AccessDeniedException.*IAM policy/);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
  });
});

describe('restoreTokenVersion', () => {
  it('reads name:version with decryption and writes it back as the newest version', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Version: 2, Value: 'glrt-t1_OlderToken' } });
    ssmMock.on(PutParameterCommand).resolves({ Version: 6 });

    expect(await restoreTokenVersion(ssm, NAME, 2)).toBe(6);

    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: `${NAME}:2`, WithDecryption: true });
    const input = ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Name: NAME, Type: 'SecureString', Value: 'glrt-t1_OlderToken', Overwrite: true });
    expect(input).not.toHaveProperty('Tags');
  });

  it('a missing version is not_found and nothing is written', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterVersionNotFound({ message: 'no such version', ...meta }));
    const err = await expectError(restoreTokenVersion(ssm, NAME, 9));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/has no version 9/);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
  });
});

describe('deleteTokenParameter', () => {
  it('deletes and is idempotent', async () => {
    ssmMock.on(DeleteParameterCommand).resolvesOnce({}).rejects(notFound());
    expect(await deleteTokenParameter(ssm, NAME)).toBe(true);
    expect(await deleteTokenParameter(ssm, NAME)).toBe(false);
    expect(ssmMock).toHaveReceivedCommandWith(DeleteParameterCommand, { Name: NAME });
  });

  it('a throttled delete is retryable', async () => {
    ssmMock.on(DeleteParameterCommand).rejects(Object.assign(new Error('rate'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    expect((await expectError(deleteTokenParameter(ssm, NAME))).code).toBe('throttled');
  });
});
