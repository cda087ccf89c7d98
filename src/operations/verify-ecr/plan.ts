/**
 * verify-ecr's plan (the approval request and --dry-run): the image and the preflight's answer,
 * the manager it will ask, the launch parameters (the RunInstances input of the first alternative,
 * user data shown as its own file), and the scripts. Looking things up for the plan may fail (no
 * permission, a missing image): the plan then says so instead of failing, and the preflight step
 * stops the run before anything is launched.
 */
import { findManager } from '../../adapters/aws/ec2-instances';
import { verifyWorkerAlternatives, verifyWorkerLaunchInput } from '../../adapters/aws/launcher';
import { securityGroupIdByName } from '../../adapters/aws/worker-lookups';
import { userMessage } from '../../domain/errors';
import { renderFleet } from '../../fleet/render';
import { renderManagerEcrCheck } from '../../fleet/verify-probes';
import type { Plan, PlanInput } from '../framework/types';
import type { ManagerOpsDeps } from '../manager/deps';
import { bullets } from '../manager/plan-text';
import { imageOf, parseImage, preflight, preflightLine } from './preflight';

async function attempt<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, reason: userMessage(err) };
  }
}

export async function verifyEcrPlan(deps: ManagerOpsDeps, input: PlanInput, stepLabels: readonly string[]): Promise<Plan> {
  const { env, envName } = input;
  const w = env.workers;
  const image = imageOf(env, input.args);
  const { ec2 } = deps.aws.forEnvironment(env, `runner-ops-${input.operationId}`);
  const [pre, manager, group] = await Promise.all([
    attempt(() => preflight(deps, input, image)),
    attempt(() => findManager(ec2, envName)),
    attempt(() => securityGroupIdByName(ec2, w.vpcId, w.securityGroup)),
  ]);
  let registry: string | undefined;
  try { registry = parseImage(image).registry; } catch { registry = undefined; }
  const fleet = renderFleet({ envName, env, gitlabUrl: deps.gitlabUrl, ...(registry === undefined ? {} : { verifyImage: image }), ...(deps.catalogue === undefined ? {} : { catalogue: deps.catalogue }) });
  const userData = fleet.workerUserData.verify;
  const [first, ...fallbacks] = verifyWorkerAlternatives(w);
  const launchInput = first === undefined ? undefined : verifyWorkerLaunchInput({
    envName, operationId: input.operationId, step: 'launch-worker', workers: w,
    securityGroupId: group.ok ? group.value : `<id of "${w.securityGroup}" in ${w.vpcId}>`,
    userData, expiresAt: new Date(deps.clock.now() + env.ecr.verifyTtlMinutes * 60_000),
  }, first);
  const shown = launchInput === undefined ? {} : {
    ...launchInput,
    UserData: `<base64 of worker-userdata-verify.sh: ${Buffer.byteLength(userData, 'utf8')} bytes raw, ${launchInput.UserData?.length ?? 0} base64>`,
  };

  const market = w.spot ? `a one-time Spot \`${first?.instanceType ?? '?'}\` (terminated on interruption${w.spotPrice !== undefined && w.spotPrice !== '' ? `, max price ${w.spotPrice}` : ''})` : `an on-demand \`${first?.instanceType ?? '?'}\``;
  const managerLine = !manager.ok ? `Manager level: the manager could not be looked up (${manager.reason}); the run looks again.`
    : manager.value === undefined ? `Manager level: skipped, ${envName} has no manager (run \`/runner bootstrap ${envName}\` first).`
      : `Manager level: over SSM on manager \`${manager.value.id}\`, ask the credential helper for \`${registry ?? '?'}\` (prints ok or the helper's error, never the credential).`;
  const lines = [
    pre.ok ? `Preflight: ${preflightLine(pre.value)}.` : `:x: Preflight: ${pre.reason}. The run stops here and launches nothing.`,
    managerLine,
    `Launch ${market} worker like the fleet's from \`${w.ami}\` in \`${w.subnetId}\` with security group \`${w.securityGroup}\`${group.ok ? ` (\`${group.value}\`)` : ` (${group.reason})`} and profile \`${w.instanceProfile}\`, IMDSv2 required with hop limit 2, tagged to expire ${env.ecr.verifyTtlMinutes} min after launch${fallbacks.length === 0 ? '' : `; without capacity, then ${fallbacks.map((f) => `\`${f.instanceType}\``).join(', ')}`}.`,
    'Wait for its SSM agent and its user data (Docker engine and ECR credential helper), then run verify-ecr.sh over SSM: worker host, job container, Docker-in-Docker.',
    'Terminate the worker: at the end, and on failure or cancel (the reaper does it after the expiry if the bot cannot).',
  ];
  return {
    summary: `*Verify ECR pulls of* \`${image}\`\n${bullets(lines)}`,
    steps: stepLabels,
    details: [
      { title: 'verify-ecr.sh (run on the worker over SSM)', filename: 'verify-ecr.sh', content: fleet.artifacts['verify-ecr.sh'] },
      { title: 'Worker user data (verify variant)', filename: 'worker-userdata-verify.sh', content: userData },
      { title: 'RunInstances parameters (first alternative)', filename: 'run-instances.json', content: `${JSON.stringify(shown, null, 2)}\n` },
      ...(registry === undefined ? [] : [{ title: 'Manager credential check (over SSM)', filename: 'manager-ecr-check.sh', content: renderManagerEcrCheck(envName, registry) }]),
    ],
    args: { image },
  };
}
