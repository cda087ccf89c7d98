import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { describeImagesSkipReason, describeImageTag, ecrRegistryOf } from './ecr';

const ecrMock = mockClient(ECRClient);
const ecr = new ECRClient({ region: 'eu-central-1' });
beforeEach(() => ecrMock.reset());

const REGISTRY = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';
const awsError = (name: string, status = 400) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('ecrRegistryOf / describeImagesSkipReason', () => {
  it.each([
    [REGISTRY, { accountId: '123456789012', region: 'eu-central-1' }],
    ['210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com', { accountId: '210987654321', region: 'us-gov-west-1' }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', { accountId: '123456789012', region: 'cn-north-1' }],
    ['public.ecr.aws', undefined],
    ['registry.gitlab.com', undefined],
    ['12345.dkr.ecr.eu-central-1.amazonaws.com', undefined],
  ])('%s', (host, owner) => {
    expect(ecrRegistryOf(host)).toEqual(owner);
    expect(describeImagesSkipReason(host) === undefined).toBe(owner !== undefined);
  });

  it('says why ECR Public is skipped', () => {
    expect(describeImagesSkipReason('public.ecr.aws')).toMatch(/ECR Public .* not answered by the ECR DescribeImages API/);
  });
});

describe('describeImageTag', () => {
  it('asks the registry account for the tag', async () => {
    const pushed = new Date('2026-01-02T03:04:05Z');
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:abc', imagePushedAt: pushed, imageSizeInBytes: 42 }] });
    expect(await describeImageTag(ecr, REGISTRY, 'ci/base', 'latest')).toEqual({ kind: 'found', digest: 'sha256:abc', pushedAt: pushed, sizeBytes: 42 });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, { registryId: '123456789012', repositoryName: 'ci/base', imageIds: [{ imageTag: 'latest' }] });
  });

  it('looks a digest up as a digest', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: digest }] });
    await describeImageTag(ecr, REGISTRY, 'ci/base', digest);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, { imageIds: [{ imageDigest: digest }] });
  });

  it.each([
    ['RepositoryNotFoundException', 'not_found', /the repository ci\/base does not exist in registry 123456789012\.dkr/],
    ['ImageNotFoundException', 'not_found', /ci\/base:latest does not exist: the repository ci\/base has no tag latest/],
    ['AccessDeniedException', 'external', /must allow ecr:DescribeImages on arn:aws:ecr:eu-central-1:123456789012:repository\/ci\/base/],
  ])('%s is a clear answer (%s)', async (name, code, message) => {
    ecrMock.on(DescribeImagesCommand).rejects(awsError(name));
    await expect(describeImageTag(ecr, REGISTRY, 'ci/base', 'latest')).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('other errors go through the common mapping', async () => {
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ThrottlingException'));
    await expect(describeImageTag(ecr, REGISTRY, 'ci/base', 'latest')).rejects.toMatchObject({ code: 'throttled' });
  });

  it('refuses hosts DescribeImages does not answer', async () => {
    await expect(describeImageTag(ecr, 'public.ecr.aws', 'docker/library/alpine', '3')).rejects.toMatchObject({ code: 'internal' });
    expect(ecrMock).toHaveReceivedCommandTimes(DescribeImagesCommand, 0);
  });
});
