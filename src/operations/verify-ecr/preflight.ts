/**
 * The preflight: everything that can be known about the image before an instance exists. The
 * image must parse with the OCI grammar and name one of the environment's `ecr.registries` (only
 * those get a credHelpers entry on the fleet's machines), and a private ECR image must exist
 * (DescribeImages, in the registry's own account and region). A failure here launches nothing.
 */
import { describeImagesSkipReason, describeImageTag, ecrRegistryOf } from '../../adapters/aws/ecr';
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { IMAGE_REFERENCE } from '../../config/grammar';
import { isImageReference } from '../../domain/command';
import { RunnerOpsError } from '../../domain/errors';
import type { ManagerOpsDeps } from '../manager/deps';
import { json } from '../manager/state';
import type { StepDefinition } from '../framework/types';
import type { PreflightResult } from './state';

export interface ImageRef {
  image: string;
  registry: string;
  repository: string;
  reference: string;
}

/** The image the operation verifies: the command's argument, else the fleet's `ecr.verifyImage`. */
export function imageOf(env: EnvironmentConfig, args: Readonly<Record<string, string>>): string {
  return args.image ?? env.ecr.verifyImage;
}

/** The parts of an image reference; a 'usage' error when it is not one. */
export function parseImage(image: string): ImageRef {
  const groups = isImageReference(image) ? IMAGE_REFERENCE.exec(image)?.groups : undefined;
  const registry = groups?.registry;
  const repository = groups?.repository;
  if (registry === undefined || repository === undefined) {
    throw new RunnerOpsError('usage', `${image} is not an image reference with its registry host (such as 123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest)`);
  }
  return { image, registry, repository, reference: groups?.digest ?? groups?.tag ?? 'latest' };
}

export interface PreflightInput {
  envName: string;
  env: EnvironmentConfig;
  operationId: string;
  signal?: AbortSignal;
}

/** Runs the preflight; throws a RunnerOpsError that says what is wrong. */
export async function preflight(deps: ManagerOpsDeps, input: PreflightInput, image: string): Promise<PreflightResult> {
  const ref = parseImage(image);
  const listed = input.env.ecr.registries;
  if (!listed.includes(ref.registry)) {
    throw new RunnerOpsError('usage', `the registry ${ref.registry} is not one of ${input.envName}'s ecr.registries (${listed.join(', ')}): its machines have no credential helper entry for it, so a pull could not work; add it to the fleet file (and run bootstrap) or name an image in a listed registry`);
  }
  const skipReason = describeImagesSkipReason(ref.registry);
  if (skipReason !== undefined) return { ...ref, check: 'skipped', skipReason };
  const owner = ecrRegistryOf(ref.registry);
  if (owner === undefined) throw new RunnerOpsError('internal', `no ECR region for ${ref.registry}`);
  // The registry may live in another region than the environment: ask it where it is.
  const { ecr } = deps.aws.forEnvironment({ region: owner.region, roleArn: input.env.roleArn }, `runner-ops-${input.operationId}`);
  const found = await describeImageTag(ecr, ref.registry, ref.repository, ref.reference, input.signal === undefined ? {} : { abortSignal: input.signal });
  return { ...ref, check: 'found', ...(found.digest === undefined ? {} : { digest: found.digest }) };
}

/** A person-readable line for a preflight result (plan and thread). */
export function preflightLine(p: PreflightResult): string {
  if (p.check === 'skipped') return `not checked before launch: ${p.skipReason ?? 'DescribeImages does not answer for this registry'}`;
  return `\`${p.repository}:${p.reference}\` exists in ${p.registry}${p.digest === undefined ? '' : ` (${p.digest.slice(0, 19)}…)`}`;
}

export function preflightStep(deps: ManagerOpsDeps): StepDefinition {
  return {
    name: 'preflight',
    label: 'Preflight: the image and its registry',
    run: async (ctx) => {
      const result = await preflight(deps, { envName: ctx.envName, env: ctx.env, operationId: ctx.operation.id, signal: ctx.signal }, imageOf(ctx.env, ctx.operation.args));
      await ctx.note(`Image \`${result.image}\`: ${preflightLine(result)}.`);
      return json(result);
    },
  };
}
