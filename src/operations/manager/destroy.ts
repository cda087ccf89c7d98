/**
 * `/runner destroy <env>` (always approved by someone other than the requester, CONTRACT §4):
 * drain every manager, remove their workers, delete the environment's runners, key pairs and token
 * parameter, terminate the managers. Each step carries on past what it cannot remove, and the last
 * step looks again and lists whatever is still there, so the thread ends with the truth.
 */
import { listEnvironmentKeyPairs, deleteKeyPair, terminateInstances } from '../../adapters/aws/ec2-cleanup';
import { listInstances } from '../../adapters/aws/ec2-instances';
import { deleteTokenParameter, describeTokenParameter } from '../../adapters/aws/token-parameter';
import { withGitlabRetry } from '../../adapters/gitlab/runner-registration';
import { listEnvironmentRunners } from '../../adapters/gitlab/runners';
import { RunnerOpsError, userMessage } from '../../domain/errors';
import type { OperationDefinition, StepContext, StepDefinition } from '../framework/types';
import { awsFor, gitlabOf, gitlabRetry, type ManagerOpsDeps } from './deps';
import { inspected, inspectEnvironment, inspectStep } from './inspect';
import { bullets, existing } from './plan-text';
import { deleteRunners } from './runner-steps';
import { deleteManagerKeyPair, drainManager, removeWorkers, terminateManagers } from './teardown';
import { json } from './state';

/** A step that does its best for every item, notes what it did and what it could not do. */
function bestEffort(name: string, label: string, body: (ctx: StepContext, done: string[], problems: string[]) => Promise<void>): StepDefinition {
  return {
    name, label,
    run: async (ctx) => {
      const done: string[] = [];
      const problems: string[] = [];
      try {
        await body(ctx, done, problems);
      } catch (err) {
        if (err instanceof RunnerOpsError && err.code === 'cancelled') throw err;
        problems.push(userMessage(err));
      }
      const text = [...done, ...problems.map((p) => `:warning: ${p}`)];
      if (text.length > 0) await ctx.note(text.join('\n'));
      return json({ problems });
    },
  };
}

const managersOf = (ctx: StepContext): string[] => inspected(ctx).managers.map((m) => m.id);

export function destroyOperation(deps: ManagerOpsDeps): OperationDefinition {
  const steps: StepDefinition[] = [
    inspectStep(deps),
    bestEffort('drain', 'Drain the manager(s)', async (ctx, done, problems) => {
      for (const id of managersOf(ctx)) {
        try { done.push(await drainManager(deps, ctx, id)); } catch (err) { problems.push(`drain of \`${id}\`: ${userMessage(err)}`); }
      }
    }),
    bestEffort('workers', 'Remove the workers', async (ctx, done, problems) => {
      for (const id of managersOf(ctx)) {
        try {
          const r = await removeWorkers(deps, ctx, id);
          done.push(...r.lines);
          problems.push(...r.remaining);
        } catch (err) { problems.push(`workers of \`${id}\`: ${userMessage(err)}`); }
      }
      // Workers of managers that are already gone, and verify workers.
      const { ec2 } = awsFor(deps, ctx);
      const rest = (await listInstances(ec2, { environment: ctx.envName, states: ['pending', 'running', 'stopping', 'stopped'] }, { abortSignal: ctx.signal }))
        .filter((i) => i.role === 'worker' || i.role === 'verify-worker');
      if (rest.length > 0) {
        const t = await terminateInstances(ec2, rest.map((i) => i.id), { abortSignal: ctx.signal });
        if (t.terminated.length > 0) done.push(`terminated ${t.terminated.length} other worker(s): ${t.terminated.map((i) => `\`${i}\``).join(', ')}`);
        problems.push(...t.refused.map((r) => `worker ${r.id} (${r.reason})`));
      }
    }),
    bestEffort('runners', 'Delete the runners in GitLab', async (ctx, done, problems) => {
      const r = await deleteRunners(deps, ctx, () => true);
      if (r.deleted.length > 0) done.push(`deleted runner(s) ${r.deleted.map((i) => `#${i}`).join(', ')}`);
      problems.push(...r.failed);
    }),
    bestEffort('keypairs', 'Delete the key pairs', async (ctx, done, problems) => {
      const { ec2 } = awsFor(deps, ctx);
      for (const id of managersOf(ctx)) {
        try { done.push(await deleteManagerKeyPair(deps, ctx, id)); } catch (err) { problems.push(`key pair of \`${id}\`: ${userMessage(err)}`); }
      }
      for (const kp of await listEnvironmentKeyPairs(ec2, ctx.envName, { abortSignal: ctx.signal })) {
        try { if (await deleteKeyPair(ec2, kp.name, { abortSignal: ctx.signal })) done.push(`deleted key pair \`${kp.name}\``); } catch (err) { problems.push(`key pair ${kp.name}: ${userMessage(err)}`); }
      }
    }),
    bestEffort('parameter', 'Delete the token parameter', async (ctx, done) => {
      const { ssm } = awsFor(deps, ctx);
      const name = ctx.env.gitlab.tokenParameter;
      done.push(await deleteTokenParameter(ssm, name, { abortSignal: ctx.signal }) ? `deleted \`${name}\`` : `\`${name}\` did not exist`);
    }),
    bestEffort('terminate', 'Terminate the manager(s)', async (ctx, done, problems) => {
      const r = await terminateManagers(deps, ctx, managersOf(ctx));
      done.push(...r.lines);
      problems.push(...r.remaining);
    }),
    {
      name: 'verify',
      label: 'Check that nothing is left',
      run: async (ctx) => {
        const remains = await leftovers(deps, ctx);
        if (remains.length > 0) {
          throw new RunnerOpsError('external', `destroy could not remove everything. Still there:\n${remains.map((r) => `• ${r}`).join('\n')}`);
        }
      },
    },
  ];
  return {
    verb: 'destroy',
    steps,
    async plan(input) {
      const info = await inspectEnvironment(deps, input);
      const { ec2 } = deps.aws.forEnvironment(input.env, `runner-ops-${input.operationId}`);
      const workers = (await listInstances(ec2, { environment: input.envName })).filter((i) => i.role !== 'manager').length;
      const lines = [
        info.managers.length === 0 ? 'No manager to drain.' : `Drain ${info.managers.map((m) => `\`${m.id}\``).join(', ')} (running jobs get up to ${input.env.manager.drainTimeoutMinutes} min), then terminate.`,
        `Remove ${workers} live worker(s) (docker-machine rm, then terminate leftovers).`,
        info.runners.length === 0 ? 'No runner to delete in GitLab.' : `Delete runner(s) ${info.runners.map((r) => `#${r.id}`).join(', ')} in GitLab.`,
        `Delete the environment's key pairs and the token parameter \`${input.env.gitlab.tokenParameter}\`${info.parameterVersion === null ? ' (absent)' : ''}.`,
      ];
      return { summary: `*Destroys everything runner-ops made for ${input.envName}.*\n${existing(info)}\n${bullets(lines)}`, steps: steps.map((s) => s.label) };
    },
    summarize: () => 'Destroyed: no manager, worker, runner, key pair or token parameter of this environment is left.',
  };
}

/** What is still there after a destroy, looked up afresh. */
async function leftovers(deps: ManagerOpsDeps, ctx: StepContext): Promise<string[]> {
  const { ec2, ssm } = awsFor(deps, ctx);
  const out: string[] = [];
  const live = await listInstances(ec2, { environment: ctx.envName }, { abortSignal: ctx.signal });
  out.push(...live.map((i) => `${i.role ?? 'instance'} \`${i.id}\` (${i.state})`));
  const runners = await withGitlabRetry(() => listEnvironmentRunners(gitlabOf(deps), ctx.envName, ctx.env.gitlab, { details: false }), gitlabRetry(deps, ctx.signal));
  out.push(...runners.map((r) => `runner #${r.id} in GitLab`));
  out.push(...(await listEnvironmentKeyPairs(ec2, ctx.envName, { abortSignal: ctx.signal })).map((k) => `key pair \`${k.name}\``));
  if ((await describeTokenParameter(ssm, ctx.env.gitlab.tokenParameter, { abortSignal: ctx.signal })).exists) out.push(`parameter \`${ctx.env.gitlab.tokenParameter}\``);
  return out;
}
