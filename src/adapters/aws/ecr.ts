/**
 * ECR lookups for verify-ecr's preflight: does the image exist, before any instance is launched?
 *
 * `DescribeImages` answers for private registries only (`<account>.dkr.ecr.<region>.amazonaws.com`);
 * ECR Public (`public.ecr.aws`) is another API (ecr-public, us-east-1), and any other host is not
 * ECR at all, so those are "skipped", with the reason, rather than checked (DESIGN §2). The
 * registry's account goes in `registryId` (a cross-account registry is checked where it lives),
 * and the caller passes a client for the registry's region, which `ecrRegistryOf` names.
 */
import { DescribeImagesCommand, type ECRClient, type ImageIdentifier } from '@aws-sdk/client-ecr';
import { RunnerOpsError } from '../../domain/errors';
import type { AwsCallOptions } from './ec2-instances';
import { awsErrorCode, fromAwsError } from './errors';

export const ECR_PUBLIC_HOST = 'public.ecr.aws';

/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, the private registry host grammar. */
const PRIVATE_REGISTRY = /^(?<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/** The account and region of a private ECR registry host; undefined for anything else. */
export function ecrRegistryOf(host: string): { accountId: string; region: string } | undefined {
  const m = PRIVATE_REGISTRY.exec(host);
  const accountId = m?.groups?.account;
  const region = m?.groups?.region;
  return accountId === undefined || region === undefined ? undefined : { accountId, region };
}

/** Why DescribeImages does not answer for this host, or undefined when it does. */
export function describeImagesSkipReason(host: string): string | undefined {
  if (host === ECR_PUBLIC_HOST) return 'ECR Public (public.ecr.aws) is not answered by the ECR DescribeImages API: the pull itself is the check';
  if (ecrRegistryOf(host) === undefined) return `${host} is not a private ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com): the pull itself is the check`;
  return undefined;
}

export interface ImageFound {
  kind: 'found';
  digest: string | undefined;
  pushedAt: Date | undefined;
  sizeBytes: number | undefined;
}

/**
 * Looks one tag (or `sha256:` digest) up with DescribeImages. A missing repository or image is a
 * 'not_found' error that says which; a denial names the action the bot's policy must allow.
 * Call only for hosts that `describeImagesSkipReason` accepts.
 */
export async function describeImageTag(
  ecr: ECRClient, registry: string, repository: string, tagOrDigest: string, opts: AwsCallOptions = {},
): Promise<ImageFound> {
  const owner = ecrRegistryOf(registry);
  if (owner === undefined) throw new RunnerOpsError('internal', `describeImageTag called for ${registry}, which is not a private ECR registry`);
  const imageId: ImageIdentifier = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(tagOrDigest)
    ? { imageDigest: tagOrDigest } : { imageTag: tagOrDigest };
  const image = `${registry}/${repository}${'imageDigest' in imageId ? '@' : ':'}${tagOrDigest}`;
  let out;
  try {
    out = await ecr.send(new DescribeImagesCommand({ registryId: owner.accountId, repositoryName: repository, imageIds: [imageId] }), { abortSignal: opts.abortSignal });
  } catch (err) {
    switch (awsErrorCode(err)) {
      case 'RepositoryNotFoundException':
        throw new RunnerOpsError('not_found', `the repository ${repository} does not exist in registry ${registry} (account ${owner.accountId}, ${owner.region}), so ${image} cannot be pulled: check the name, or push the image first`, { cause: err });
      case 'ImageNotFoundException':
        throw new RunnerOpsError('not_found', `${image} does not exist: the repository ${repository} has no ${'imageDigest' in imageId ? 'image with that digest' : `tag ${tagOrDigest}`}; push it or name an existing tag`, { cause: err });
      case 'AccessDeniedException':
      case 'AccessDenied':
        throw new RunnerOpsError('external', `ECR DescribeImages on ${registry}/${repository} was denied: the bot's IAM policy (or the environment role) must allow ecr:DescribeImages on arn:aws:ecr:${owner.region}:${owner.accountId}:repository/${repository} (for another account's registry, its repository policy too)`, { cause: err });
      default:
        throw fromAwsError(err, 'ECR', 'DescribeImages');
    }
  }
  const detail = out.imageDetails?.[0];
  if (detail === undefined) throw new RunnerOpsError('not_found', `${image} does not exist (ECR DescribeImages returned no image)`);
  return { kind: 'found', digest: detail.imageDigest, pushedAt: detail.imagePushedAt, sizeBytes: detail.imageSizeInBytes };
}
