/**
 * Steps that bring a manager up: launch (idempotent through the ClientToken), wait for its SSM
 * agent, run the bootstrap phases (one SSM command each, so the thread's status line moves).
 */
import { waitUntilRunning, launchManager } from '../../adapters/aws/launcher';
import { waitForSsmOnline } from '../../adapters/aws/ssm-commands';
import { MANAGER_PHASES, type ManagerPhaseName } from '../../fleet/manager-phases';
import type { StepContext, StepDefinition } from '../framework/types';
import { runPhase } from './commands';
import { awsFor, finalWait, type ManagerOpsDeps, pacing } from './deps';
import { inspected, resultOf } from './inspect';
import { json, launchResult, launchSaved, read } from './state';

export type LaunchMode = 'if-absent' | 'next-generation';

/**
 * `if-absent` (bootstrap) reuses the current manager; `next-generation` (rotate) always launches
 * one with the next generation. Crash safety: the generation is saved before RunInstances, the
 * instance id right after it; a resumed step that has no id calls RunInstances again with the
 * same ClientToken and the same parameters, and EC2 answers with the instance it already launched.
 */
export function launchStep(deps: ManagerOpsDeps, mode: LaunchMode): StepDefinition {
  return {
    name: 'launch',
    label: mode === 'if-absent' ? 'Find or launch the manager' : 'Launch the new manager',
    run: async (ctx) => {
      const info = inspected(ctx);
      if (mode === 'if-absent' && info.managerId !== null) {
        return json({ instanceId: info.managerId, launched: false, generation: info.generation });
      }
      const saved = read(launchSaved, ctx.saved);
      const generation = saved?.generation ?? info.generation + 1;
      const { ec2 } = awsFor(deps, ctx);
      let instanceId = saved?.instanceId;
      if (instanceId === undefined) {
        await ctx.save(json({ generation }));
        instanceId = await launchManager(ec2, { envName: ctx.envName, operationId: ctx.operation.id, step: 'launch', generation, manager: ctx.env.manager }, { abortSignal: ctx.signal });
        await ctx.save(json({ instanceId, generation }));
        await ctx.note(`Launched manager \`${instanceId}\` (${ctx.env.manager.instanceType}, on-demand, generation ${generation}).`);
      }
      await finalWait(waitUntilRunning(ec2, instanceId, { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.instanceRunningMs, ...pacing(deps) }));
      return json({ instanceId, launched: true, generation });
    },
  };
}

/** The manager the operation works on: the one the launch step found or launched. */
export function launchedManager(ctx: Pick<StepContext, 'results'>): string {
  return resultOf(ctx, 'launch', launchResult).instanceId;
}

export function ssmOnlineStep(deps: ManagerOpsDeps, target: (ctx: StepContext) => string): StepDefinition {
  return {
    name: 'ssm-online',
    label: 'Wait for the SSM agent',
    run: async (ctx) => {
      const { ssm } = awsFor(deps, ctx);
      await finalWait(waitForSsmOnline(ssm, target(ctx), { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.ssmOnlineMs, ...pacing(deps) }));
    },
  };
}

const PHASE_LABELS: Record<ManagerPhaseName, string> = {
  host: 'Bootstrap: Docker and the AWS CLI',
  tools: 'Bootstrap: gitlab-runner, docker-machine, ECR helper',
  keypair: 'Bootstrap: SSH key and EC2 key pair',
  runner: 'Bootstrap: config.toml and the service',
};

export function phaseSteps(deps: ManagerOpsDeps, target: (ctx: StepContext) => string): StepDefinition[] {
  return MANAGER_PHASES.map((name) => ({
    name: `phase-${name}`,
    label: PHASE_LABELS[name],
    run: async (ctx) => json(await runPhase(deps, ctx, target(ctx), name)),
  }));
}
