/**
 * What exists for an environment right now: its live managers (current first), the token
 * parameter's version, and its runners in GitLab. The plan shows it; the first step of every
 * manager operation records it, so later steps and the cleanup know what was there before.
 */
import { listManagers } from '../../adapters/aws/ec2-instances';
import { describeTokenParameter } from '../../adapters/aws/token-parameter';
import { withGitlabRetry } from '../../adapters/gitlab/runner-registration';
import { listEnvironmentRunners } from '../../adapters/gitlab/runners';
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { RunnerOpsError } from '../../domain/errors';
import type { Json, OperationContext, StepDefinition } from '../framework/types';
import { gitlabOf, gitlabRetry, type ManagerOpsDeps } from './deps';
import { inspectResult, json, read, type InspectResult } from './state';

export interface InspectInput {
  envName: string;
  env: EnvironmentConfig;
  operationId: string;
  signal?: AbortSignal;
}

export async function inspectEnvironment(deps: ManagerOpsDeps, input: InspectInput): Promise<InspectResult> {
  const { ec2, ssm } = deps.aws.forEnvironment(input.env, `runner-ops-${input.operationId}`);
  const gitlab = gitlabOf(deps);
  const abort = input.signal === undefined ? {} : { abortSignal: input.signal };
  const [managers, parameter, runners] = await Promise.all([
    listManagers(ec2, input.envName, abort),
    describeTokenParameter(ssm, input.env.gitlab.tokenParameter, abort),
    withGitlabRetry(() => listEnvironmentRunners(gitlab, input.envName, input.env.gitlab, { details: false }), gitlabRetry(deps, input.signal)),
  ]);
  const current = managers[0];
  return {
    managers: managers.map((m) => ({ id: m.id, generation: m.generation })),
    managerId: current?.id ?? null,
    generation: managers.reduce((max, m) => Math.max(max, m.generation), 0),
    parameterVersion: parameter.exists ? parameter.version ?? null : null,
    runners: runners.map((r) => ({ id: r.id, status: r.status, managerId: r.managerId ?? null })),
  };
}

/** The first step of every manager operation; `check` refuses to go on (e.g. rotate without a manager). */
export function inspectStep(deps: ManagerOpsDeps, check?: (info: InspectResult, envName: string) => void): StepDefinition {
  return {
    name: 'inspect',
    label: 'Look at what exists',
    run: async (ctx) => {
      const info = await inspectEnvironment(deps, { envName: ctx.envName, env: ctx.env, operationId: ctx.operation.id, signal: ctx.signal });
      check?.(info, ctx.envName);
      return json(info);
    },
  };
}

/** The inspect step's result (it always runs first). */
export function inspected(ctx: Pick<OperationContext, 'results'>): InspectResult {
  const r = read(inspectResult, ctx.results.inspect);
  if (r === undefined) throw new RunnerOpsError('internal', 'the inspect step left no readable result');
  return r;
}

/** The current manager, or a conflict error that says what to do instead. */
export function requireManager(info: InspectResult, envName: string, verb: string): string {
  if (info.managerId === null) throw new RunnerOpsError('conflict', `${envName} has no manager, so there is nothing to ${verb}: run \`/runner bootstrap ${envName}\` first`);
  return info.managerId;
}

export function resultOf<T>(ctx: Pick<OperationContext, 'results'>, step: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T {
  const value: Json | undefined = ctx.results[step];
  const parsed = value === undefined ? undefined : schema.safeParse(value);
  if (parsed === undefined || !parsed.success) throw new RunnerOpsError('internal', `the ${step} step left no readable result`);
  return parsed.data;
}
