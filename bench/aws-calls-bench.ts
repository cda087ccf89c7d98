/**
 * AWS calls per operation: the product's operation definitions (productOperations, the default
 * version catalogue, DEFAULT_TIMINGS without a `poll` override, DEFAULT_VERIFY_TIMINGS) run by the
 * bench's step runner against the stateful AWS world (aws-sdk-client-mock) and the GitLab world
 * (real HTTP, gitbeaker), on a SimulatedClock: the production poll pacing, no wall-clock waiting.
 *
 * One environment (`prod` of the bench fleet) goes through bootstrap (empty environment) →
 * rotate → reregister → verify-ecr → destroy; each operation's plan and steps are counted
 * separately, AWS by `service:Action`, GitLab by `METHOD /route` (ids as `:id`).
 *
 * Time in the world follows the simulated clock (TimedAwsWorld): a launched instance's SSM agent
 * is Online 20 s after RunInstances; SSM does not know a command for its first 1.5 s
 * (InvocationDoesNotExist); a command then runs `commandSeconds` (90 s; the worker readiness
 * probe and the manager's credential check 5 s). EC2 state changes (pending → running,
 * shutting-down → terminated) and a runner's coming online in GitLab are seen at the first look,
 * as the world answers them: those waits are at their cheapest here.
 *
 * The mock replaces each client's `send`: one counted call is one API request as the product
 * issues it; SDK retries (throttling) would come on top. No `roleArn`: no STS calls.
 *
 * Run alone: `npm run build && node dist/bench/aws-calls-bench.js`.
 */
import { Gitlab } from '@gitbeaker/rest';
import type { RunInstancesCommandInput, RunInstancesCommandOutput } from '@aws-sdk/client-ec2';
import type { GetCommandInvocationCommandOutput, SendCommandCommandInput, SendCommandCommandOutput } from '@aws-sdk/client-ssm';
import pino from 'pino';
import { createAwsClientFactory } from '../src/adapters/aws/clients';
import { parseFleet } from '../src/config/load';
import { SimulatedClock } from '../src/domain/clock';
import { productOperations } from '../src/operations/catalogue';
import type { OperationDefinition } from '../src/operations/framework/types';
import { DEFAULT_TIMINGS, type ManagerOpsDeps } from '../src/operations/manager/deps';
import { BENCH_FLEET_YAML } from './fleet';
import { runBenchOperation } from './op-runner';
import { AwsWorld, awsError, type Out } from './worlds/aws-world';
import { startGitlabFake, type FakeRequest } from './worlds/gitlab-fake';
import { GitlabWorld } from './worlds/gitlab-world';

const GITLAB_TOKEN = 'glpat-bench';
const ACCOUNT = '123456789012';
const ENV = 'prod';
const SSM_ONLINE_AFTER_MS = 20_000;
const UNKNOWN_FOR_MS = 1_500;
const COMMAND_MS = 90_000;
const SHORT_COMMAND_MS = 5_000;
const SHORT_KINDS = new Set(['worker-ready', 'manager-ecr']);

/** The AWS world with time: agent Online, command existence and command end follow the clock. */
class TimedAwsWorld extends AwsWorld {
  private readonly launchedAt = new Map<string, number>();
  private readonly sentAt = new Map<string, number>();

  constructor(private readonly clock: SimulatedClock) { super(); }

  override async runInstances(input: RunInstancesCommandInput): Promise<Out<RunInstancesCommandOutput>> {
    const out = await super.runInstances(input);
    for (const i of out.Instances ?? []) if (i.InstanceId !== undefined && !this.launchedAt.has(i.InstanceId)) this.launchedAt.set(i.InstanceId, this.clock.now());
    return out;
  }

  override describeInstanceInformation(input: { Filters?: { Key?: string; Values?: string[] }[] }) {
    for (const id of input.Filters?.find((f) => f.Key === 'InstanceIds')?.Values ?? []) {
      const inst = this.instances.get(id);
      const at = this.launchedAt.get(id);
      if (inst !== undefined && at !== undefined) inst.pingsUntilOnline = this.clock.now() - at < SSM_ONLINE_AFTER_MS ? 1 : 0;
    }
    return super.describeInstanceInformation(input);
  }

  override sendCommand(input: SendCommandCommandInput): Out<SendCommandCommandOutput> {
    const out = super.sendCommand(input);
    if (out.Command?.CommandId !== undefined) this.sentAt.set(out.Command.CommandId, this.clock.now());
    return out;
  }

  override getCommandInvocation(input: { CommandId?: string; InstanceId?: string }): Out<GetCommandInvocationCommandOutput> {
    const cmd = this.commands.find((c) => c.id === input.CommandId && c.instanceId === input.InstanceId);
    const sent = cmd === undefined ? undefined : this.sentAt.get(cmd.id);
    if (cmd !== undefined && sent !== undefined) {
      const elapsed = this.clock.now() - sent;
      if (elapsed < UNKNOWN_FOR_MS) throw awsError('InvocationDoesNotExist', 'InvocationDoesNotExist');
      const runs = UNKNOWN_FOR_MS + (SHORT_KINDS.has(cmd.kind) ? SHORT_COMMAND_MS : COMMAND_MS);
      this.invocationLag = 0;
      this.commandPolls = elapsed >= runs ? 0 : Number.MAX_SAFE_INTEGER;
    }
    return super.getCommandInvocation(input);
  }
}

export interface OperationCalls {
  operation: string;
  id: string;
  /** AWS calls by `service:Action` during the steps. */
  aws: Record<string, number>;
  awsTotal: number;
  /** AWS calls by `service:Action` made by the plan (what the approver sees, made at request time). */
  planAws: Record<string, number>;
  planAwsTotal: number;
  /** GitLab requests by `METHOD /route` during the steps. */
  gitlab: Record<string, number>;
  gitlabTotal: number;
  planGitlab: Record<string, number>;
  planGitlabTotal: number;
  /** Simulated time the steps took, in seconds. */
  simulatedSeconds: number;
  /** SSM commands sent, by script kind. */
  commands: Record<string, number>;
}

export interface AwsCallsResult {
  note: string;
  operations: OperationCalls[];
  wallMs: number;
}

/** What the bench reads of an aws-sdk-client-mock stub: its recorded calls, oldest first. */
interface CallLog { calls(): { args: readonly unknown[] }[] }

const countBy = (keys: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const k of [...keys].sort()) out[k] = (out[k] ?? 0) + 1;
  return out;
};
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const route = (r: FakeRequest): string => `${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, '/:id')}`;

export async function benchAwsCalls(): Promise<AwsCallsResult> {
  const started = Date.now();
  const clock = new SimulatedClock();
  const aws = new TimedAwsWorld(clock);
  const gitlabFake = await startGitlabFake({ token: GITLAB_TOKEN });
  try {
    const gitlab = new GitlabWorld(gitlabFake);
    aws.onRunnerConfigured = (token) => gitlab.connect(token);
    aws.addImage(ACCOUNT, 'ci/base', 'latest');
    const deps: ManagerOpsDeps = {
      aws: createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' } }),
      gitlab: new Gitlab({ host: gitlabFake.url, token: GITLAB_TOKEN, queryTimeout: 5_000 }),
      gitlabUrl: 'https://gitlab.example.com',
      clock,
      timings: DEFAULT_TIMINGS,
    };
    const env = parseFleet(BENCH_FLEET_YAML).environments[ENV];
    if (env === undefined) throw new Error(`the bench fleet has no ${ENV}`);
    const defs = new Map<string, OperationDefinition>(productOperations(deps).map((d) => [d.verb, d]));
    const log = pino({ level: 'silent' });
    const stubs: [string, CallLog][] = [['ec2', aws.ec2], ['ssm', aws.ssm], ['ecr', aws.ecr]];
    /** How many calls each client has received so far. */
    const mark = (): number[] => stubs.map(([, stub]) => stub.calls().length);
    /** `service:Action` of every call between two marks. */
    const awsBetween = (from: number[], to: number[]): string[] => stubs.flatMap(([service, stub], i) => stub.calls().slice(from[i], to[i]).map((c) => {
      const command: unknown = c.args[0];
      const name = typeof command === 'object' && command !== null ? command.constructor.name : 'unknown';
      return `${service}:${name.replace(/Command$/, '')}`;
    }));

    const operations: OperationCalls[] = [];
    const sequence = ['bootstrap', 'rotate', 'reregister', 'verify-ecr', 'destroy'] as const;
    for (const [i, verb] of sequence.entries()) {
      const def = defs.get(verb);
      if (def === undefined) throw new Error(`the product registers no ${verb}`);
      const awsAt = mark();
      const glAt = gitlabFake.requests.length;
      const cmdAt = aws.commands.length;
      let awsPlanEnd = awsAt;
      let glPlanEnd = glAt;
      let t0 = clock.now();
      await runBenchOperation({
        def, id: `op-bench${i + 1}`, envName: ENV, env, log, now: () => clock.now(),
        afterPlan: () => { awsPlanEnd = mark(); glPlanEnd = gitlabFake.requests.length; t0 = clock.now(); },
      });
      const awsEnd = mark();
      const planAws = countBy(awsBetween(awsAt, awsPlanEnd));
      const stepAws = countBy(awsBetween(awsPlanEnd, awsEnd));
      const planGitlab = countBy(gitlabFake.requests.slice(glAt, glPlanEnd).map(route));
      const stepGitlab = countBy(gitlabFake.requests.slice(glPlanEnd).map(route));
      operations.push({
        operation: verb, id: `op-bench${i + 1}`,
        aws: stepAws, awsTotal: sum(stepAws), planAws, planAwsTotal: sum(planAws),
        gitlab: stepGitlab, gitlabTotal: sum(stepGitlab), planGitlab, planGitlabTotal: sum(planGitlab),
        simulatedSeconds: Math.round((clock.now() - t0) / 1000),
        commands: countBy(aws.commands.slice(cmdAt).map((c) => c.kind)),
      });
    }
    gitlabFake.assertNoUnexpected();
    if (aws.live().length !== 0) throw new Error(`destroy left ${aws.live().length} instance(s) running`);
    return {
      note: `productOperations on one environment: bootstrap (empty) → rotate → reregister → verify-ecr → destroy; in-process step runner (no BullMQ), AWS world on aws-sdk-client-mock (one call = one request the product issues; SDK retries not included; no STS: no roleArn), GitLab world over HTTP; production poll pacing on a simulated clock: SSM agent Online ${SSM_ONLINE_AFTER_MS / 1000} s after launch, commands unknown to SSM for ${UNKNOWN_FOR_MS / 1000} s then running ${COMMAND_MS / 1000} s (readiness probe and manager credential check ${SHORT_COMMAND_MS / 1000} s), EC2 state changes and runner online seen at the first look`,
      operations,
      wallMs: Date.now() - started,
    };
  } finally {
    aws.restore();
    await gitlabFake.close();
  }
}

/** The table rows `npm run bench` prints. */
export function awsCallsRows(r: AwsCallsResult): string[] {
  const fmt = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
  const rows = ['AWS calls per operation (steps; plan separately), simulated clock, production poll pacing'];
  rows.push('operation      AWS   GitLab   plan AWS  plan GitLab   simulated s');
  for (const o of r.operations) {
    rows.push(`${o.operation.padEnd(12)}${String(o.awsTotal).padStart(6)}${String(o.gitlabTotal).padStart(9)}${String(o.planAwsTotal).padStart(11)}${String(o.planGitlabTotal).padStart(13)}${String(o.simulatedSeconds).padStart(14)}`);
  }
  for (const o of r.operations) {
    rows.push(`  ${o.operation}: ${fmt(o.aws)}; GitLab: ${fmt(o.gitlab)}`);
    rows.push(`  ${' '.repeat(o.operation.length)}  plan: ${fmt(o.planAws)}; GitLab: ${fmt(o.planGitlab)}`);
  }
  return rows;
}

if (require.main === module) {
  benchAwsCalls().then((r) => {
    process.stdout.write(`${awsCallsRows(r).join('\n')}\n(${r.wallMs} ms wall)\n${JSON.stringify(r.operations, null, 2)}\n`);
  }).catch((err: unknown) => {
    process.stderr.write(`aws-calls bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
