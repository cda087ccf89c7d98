/**
 * A small stateful AWS for the operation tests and `npm run bench` (AWS calls per operation), on
 * aws-sdk-client-mock (test/fakes/aws-world.ts re-exports it): EC2 instances and key
 * pairs, SSM agent pings, Run Command invocations and Parameter Store, answering the way AWS does
 * (ClientToken idempotency, eventual InvocationDoesNotExist, instance states moving on). Commands
 * "run" by recognising the script (bootstrap phase, drain, remove-workers) and print the summary
 * lines the real scripts print; the runner phase connects the runner whose token is in the
 * parameter, which the GitLab world (gitlab-world.ts) then reports online.
 *
 * Failure injection: `fault(at, error?)` makes the next call at `at` (e.g. `ec2:RunInstances`,
 * `ssm:PutParameter`, `command:phase-tools`, `command:drain`) fail once; `command:` faults make
 * the command end Failed with an output tail. `ec2:RunInstances:<instance type>` fails the next
 * launch of that type only (capacity fallback). `hold(kind)` keeps every command of that kind
 * InProgress until `release(kind)` (a crash staged while SSM still runs a command);
 * `launchPings` is how many SSM pings a freshly launched instance answers before it is Online.
 *
 * verify-ecr: RunInstances records its whole input (market options, user data, …) on the instance
 * and answers IdempotentParameterMismatch when a ClientToken comes back with other parameters;
 * DescribeSecurityGroups knows `securityGroups`; ECR DescribeImages knows the images added with
 * `addImage`; the command kinds `manager-ecr`, `worker-ready` and `verify-ecr` print what the real
 * scripts print, and a test scripts their output per kind with `answer(kind, ...)`.
 *
 * Two layers: `AwsWorldState` is the world itself (state and one handler per AWS action, taking
 * and returning the SDK's input and output shapes), with no mocking; `AwsWorld` wires it into
 * aws-sdk-client-mock for in-process tests. The end-to-end suite serves the same state over HTTP
 * to a bot running as a child process (test/e2e/aws-http-fake.ts).
 */
import {
  CreateTagsCommand, DeleteKeyPairCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand,
  type DescribeInstancesCommandOutput, type DescribeKeyPairsCommandOutput, type DescribeSecurityGroupsCommandOutput, type Filter, type Instance as SdkInstance,
  type RunInstancesCommandInput, type RunInstancesCommandOutput, type TerminateInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, ECRClient, type DescribeImagesCommandInput, type DescribeImagesCommandOutput } from '@aws-sdk/client-ecr';
import {
  CancelCommandCommand, DeleteParameterCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, GetParameterCommand,
  PutParameterCommand, SendCommandCommand, SSMClient, type DescribeInstanceInformationCommandOutput, type GetCommandInvocationCommandOutput,
  type GetParameterCommandOutput, type PutParameterCommandOutput, type SendCommandCommandInput, type SendCommandCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeInstance {
  id: string;
  type: string;
  state: 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopped';
  tags: Record<string, string>;
  clientToken?: string;
  launchedAt: Date;
  /** SSM ping answers before the agent is Online. */
  pingsUntilOnline: number;
  /** Phases that already match (a second run reports no change). */
  configured: Set<string>;
  /** The token config.toml holds (set by the runner phase). */
  configuredToken?: string;
  runnerStopped?: boolean;
  /** What RunInstances was called with (instances the test world launched). */
  launchInput?: RunInstancesCommandInput;
  spot?: boolean;
  az?: string;
  /** EC2's StateReason (e.g. a Spot interruption). */
  stateReason?: { Code: string; Message: string };
  /** Readiness probes answered "still running" before the user data's marker exists. */
  readyProbes?: number;
}

/** How a scripted command ends: its status and stdout. */
export interface CommandAnswer { ok: boolean; stdout: string }

export interface FakeCommand {
  id: string;
  instanceId: string;
  script: string;
  comment: string;
  kind: string;
  polls: number;
  status: 'InProgress' | 'Success' | 'Failed' | 'Cancelled';
  stdout: string;
  input: SendCommandCommandInput;
}

export function awsError(name: string, message = name, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

const match = (filters: Filter[] | undefined, i: FakeInstance): boolean => (filters ?? []).every((f) => {
  const values = f.Values ?? [];
  if (f.Name === 'instance-state-name') return values.includes(i.state);
  if (f.Name === 'instance-id') return values.includes(i.id);
  if (f.Name?.startsWith('tag:') === true) return values.includes(i.tags[f.Name.slice(4)] ?? '\0');
  throw new Error(`aws-world: unsupported DescribeInstances filter ${String(f.Name)}`);
});

/** The kind of script a SendCommand carries, read from its header comment. */
function kindOf(script: string): string {
  const phase = /^# Manager bootstrap phase \d+\/\d+ \((\w+)\)/m.exec(script);
  if (phase !== null) return `phase-${phase[1] ?? ''}`;
  if (/^# Drain the gitlab-runner/m.test(script)) return 'drain';
  if (/^# Remove the Docker Machine workers/m.test(script)) return 'remove-workers';
  if (/^# ECR pull verification/m.test(script)) return 'verify-ecr';
  if (/^# ECR credential check on the manager/m.test(script)) return 'manager-ecr';
  if (/^# Readiness check of a runner-ops verify worker/m.test(script)) return 'worker-ready';
  return 'unknown';
}

/** A JSON line as verify-ecr.sh prints it, for scripted answers. */
export function verifyLine(level: 'host' | 'container' | 'dind', result: 'ok' | 'failed', error = '', helperError = ''): string {
  return JSON.stringify(result === 'ok' ? { kind: 'verify-ecr', level, result, seconds: 2 } : { kind: 'verify-ecr', level, result, seconds: 3, error, helperError });
}

/** verify-ecr.sh's whole stdout for three level lines; it exits 1 when one failed. */
export function verifyOutput(lines: string[], image = 'image'): CommandAnswer {
  const ok = lines.every((l) => l.includes('"result":"ok"'));
  return { ok, stdout: `==> images\n${lines.map((l) => `==> level\n${l}`).join('\n')}\n${JSON.stringify({ kind: 'verify-ecr-summary', image, ok })}\n` };
}

/** An SDK output without the response metadata the SDK adds itself. */
export type Out<T> = Omit<T, '$metadata'>;

/** The canonical form of a RunInstances input, for the ClientToken parameter check. */
const launchKey = (input: RunInstancesCommandInput): string => JSON.stringify({ ...input, ClientToken: undefined });

export class AwsWorldState {
  /** ECR images: `<registry id>/<repository>` -> tags. */
  readonly images = new Map<string, Set<string>>();
  /** Security groups DescribeSecurityGroups knows (the fleet's workers group by default). */
  readonly securityGroups: { id: string; name: string; vpcId: string }[] = [];
  /** Scripted command outcomes by kind (see `answer`). */
  protected readonly answers = new Map<string, (cmd: FakeCommand, inst: FakeInstance) => CommandAnswer | undefined>();
  /** Readiness probes a new instance answers "running" to before its marker exists. */
  workerReadyProbes = 1;
  readonly instances = new Map<string, FakeInstance>();
  readonly keyPairs = new Map<string, Record<string, string>>();
  readonly commands: FakeCommand[] = [];
  /** name -> versions (index 0 = version 1). */
  readonly parameters = new Map<string, { values: string[]; tags: Record<string, string> }>();
  protected readonly faults: { at: string; error: Error | undefined }[] = [];
  protected seq = 0;
  /** Command kinds held InProgress until `release` (see `hold`). */
  readonly held = new Set<string>();
  /** SSM pings a freshly launched instance answers before its agent is Online. */
  launchPings = 1;
  /** GetCommandInvocation answers InvocationDoesNotExist this many times per command first. */
  invocationLag = 1;
  /** InProgress answers before a command ends. */
  commandPolls = 2;
  /** Called when a runner phase writes a token into config.toml on a running instance. */
  onRunnerConfigured: (token: string, instanceId: string) => void = () => undefined;
  /** Runs after RunInstances launched an instance and before it answers (a crash can go here). */
  afterRunInstances: (() => Promise<void>) | undefined;
  /** Called when a drain stops gitlab-runner on an instance. */
  onRunnerStopped: (instanceId: string) => void = () => undefined;

  constructor() { this.resetState(); }

  /** Forgets everything a test did (the callbacks `onRunnerConfigured`/`onRunnerStopped` stay). */
  resetState(): void {
    this.images.clear();
    this.answers.clear();
    this.workerReadyProbes = 1;
    this.instances.clear();
    this.keyPairs.clear();
    this.commands.length = 0;
    this.parameters.clear();
    this.faults.length = 0;
    this.invocationLag = 1;
    this.commandPolls = 2;
    this.afterRunInstances = undefined;
    this.held.clear();
    this.launchPings = 1;
    this.securityGroups.splice(0, this.securityGroups.length, { id: 'sg-0bbb0000000000001', name: 'gitlab-runner-workers', vpcId: 'vpc-0aaa' });
  }

  /**
   * Holds every command of `kind` (e.g. `phase-tools`) InProgress, however often it is polled,
   * until `release(kind)`: a crash can be staged while SSM is still running a command.
   */
  hold(kind: string): void { this.held.add(kind); }

  release(kind: string): void { this.held.delete(kind); }

  /** An image ECR DescribeImages knows. */
  addImage(registryId: string, repository: string, tag: string): void {
    const key = `${registryId}/${repository}`;
    this.images.set(key, new Set([...(this.images.get(key) ?? []), tag]));
  }

  /**
   * Scripts the outcome of every command of `kind` from now on (until reset). A function may
   * return undefined: the command keeps running and is asked again at the next poll.
   */
  answer(kind: string, outcome: CommandAnswer | ((cmd: FakeCommand, inst: FakeInstance) => CommandAnswer | undefined)): void {
    this.answers.set(kind, typeof outcome === 'function' ? outcome : () => outcome);
  }

  /** EC2 takes a Spot instance back: it is terminated with the Spot state reason. */
  interrupt(instanceId: string): void {
    const i = this.instances.get(instanceId);
    if (i === undefined) throw new Error(`aws-world: no instance ${instanceId}`);
    i.state = 'terminated';
    i.stateReason = { Code: 'Server.SpotInstanceTermination', Message: 'Server.SpotInstanceTermination: Spot instance termination' };
  }

  fault(at: string, error?: Error): void { this.faults.push({ at, error }); }

  protected takeFault(at: string): { error: Error | undefined } | undefined {
    const i = this.faults.findIndex((f) => f.at === at);
    if (i < 0) return undefined;
    const [f] = this.faults.splice(i, 1);
    return f;
  }

  protected check(at: string): void {
    const f = this.takeFault(at);
    if (f !== undefined) throw f.error ?? awsError('InternalError', `injected failure at ${at}`, 500);
  }

  /** A manager (or worker) that exists before the test's operation. */
  addInstance(partial: Partial<FakeInstance> & { tags: Record<string, string> }): FakeInstance {
    const id = partial.id ?? this.newInstanceId();
    const inst: FakeInstance = { id, type: 't4g.micro', state: 'running', launchedAt: new Date(), pingsUntilOnline: 0, configured: new Set(), ...partial };
    this.instances.set(id, inst);
    return inst;
  }

  live(role?: string): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down' && (role === undefined || i.tags['runner-ops:role'] === role));
  }

  parameterValue(name: string): string | undefined { return this.parameters.get(name)?.values.at(-1); }

  protected newInstanceId(): string {
    this.seq += 1;
    return `i-${(0xabc00000 + this.seq).toString(16).padStart(17, '0')}`;
  }

  // ---- EC2 ---------------------------------------------------------------------------------

  async runInstances(input: RunInstancesCommandInput): Promise<Out<RunInstancesCommandOutput>> {
    this.check('ec2:RunInstances');
    this.check(`ec2:RunInstances:${String(input.InstanceType)}`);
    const existing = [...this.instances.values()].find((i) => i.clientToken !== undefined && i.clientToken === input.ClientToken);
    if (existing !== undefined) {
      if (existing.launchInput !== undefined && launchKey(existing.launchInput) !== launchKey(input)) {
        throw awsError('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or with different parameters.');
      }
      return { Instances: [{ InstanceId: existing.id, State: { Name: existing.state } }] };
    }
    const tags: Record<string, string> = {};
    for (const spec of input.TagSpecifications ?? []) {
      if (spec.ResourceType === 'instance') for (const t of spec.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
    }
    const inst = this.addInstance({
      state: 'pending', type: String(input.InstanceType), tags, clientToken: input.ClientToken ?? '', pingsUntilOnline: this.launchPings,
      launchInput: input, spot: input.InstanceMarketOptions?.MarketType === 'spot', az: 'eu-central-1a', readyProbes: this.workerReadyProbes,
    });
    this.check('ec2:RunInstances:after');
    const hook = this.afterRunInstances;
    this.afterRunInstances = undefined;
    if (hook !== undefined) await hook();
    return { Instances: [{ InstanceId: inst.id, State: { Name: 'pending' } }] };
  }

  describeInstances(input: { InstanceIds?: string[]; Filters?: Filter[] }): Out<DescribeInstancesCommandOutput> {
    this.check('ec2:DescribeInstances');
    let list = [...this.instances.values()];
    if (input.InstanceIds !== undefined && input.InstanceIds.length > 0) {
      const unknown = input.InstanceIds.filter((id) => !this.instances.has(id));
      if (unknown.length > 0) throw awsError('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(',')}' do not exist`);
      list = list.filter((i) => input.InstanceIds?.includes(i.id));
    }
    const out = list.filter((i) => match(input.Filters, i));
    const answer: SdkInstance[] = out.map((i) => ({
      InstanceId: i.id, InstanceType: i.type as SdkInstance['InstanceType'], State: { Name: i.state }, LaunchTime: i.launchedAt,
      Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
      ...(i.spot === true ? { InstanceLifecycle: 'spot' as const } : {}),
      ...(i.az === undefined ? {} : { Placement: { AvailabilityZone: i.az } }),
      ...(i.stateReason === undefined ? {} : { StateReason: i.stateReason }),
    }));
    // States move on after they were seen: pending -> running, shutting-down -> terminated.
    for (const i of out) {
      if (i.state === 'pending') i.state = 'running';
      else if (i.state === 'shutting-down') i.state = 'terminated';
    }
    return { Reservations: answer.length === 0 ? [] : [{ Instances: answer }] };
  }

  terminateInstances(input: { InstanceIds?: string[] }): Out<TerminateInstancesCommandOutput> {
    this.check('ec2:TerminateInstances');
    const ids = input.InstanceIds ?? [];
    for (const id of ids) {
      const i = this.instances.get(id);
      if (i === undefined) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    }
    return {
      TerminatingInstances: ids.map((id) => {
        const i = this.instances.get(id) as FakeInstance;
        const previous = i.state;
        if (i.state !== 'terminated') i.state = 'shutting-down';
        return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: i.state } };
      }),
    };
  }

  createTags(_input: unknown): Record<string, never> { return {}; }

  describeSecurityGroups(input: { Filters?: Filter[] }): Out<DescribeSecurityGroupsCommandOutput> {
    this.check('ec2:DescribeSecurityGroups');
    const want = (name: string) => input.Filters?.find((f) => f.Name === name)?.Values;
    const groups = this.securityGroups.filter((g) => (want('group-name')?.includes(g.name) ?? true) && (want('vpc-id')?.includes(g.vpcId) ?? true));
    return { SecurityGroups: groups.map((g) => ({ GroupId: g.id, GroupName: g.name, VpcId: g.vpcId })) };
  }

  describeKeyPairs(input: { KeyNames?: string[]; Filters?: Filter[] }): Out<DescribeKeyPairsCommandOutput> {
    const pairs = [...this.keyPairs.entries()].filter(([name, tags]) => (input.KeyNames === undefined || input.KeyNames.includes(name))
      && (input.Filters ?? []).every((f) => f.Name?.startsWith('tag:') !== true || (f.Values ?? []).includes(tags[f.Name.slice(4)] ?? '\0')));
    if (input.KeyNames !== undefined && pairs.length === 0) throw awsError('InvalidKeyPair.NotFound', 'The key pair does not exist');
    return { KeyPairs: pairs.map(([KeyName, tags]) => ({ KeyName, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) })) };
  }

  deleteKeyPair(input: { KeyName?: string }): Record<string, never> {
    this.check('ec2:DeleteKeyPair');
    this.keyPairs.delete(input.KeyName ?? '');
    return {};
  }

  // ---- ECR ---------------------------------------------------------------------------------

  describeImages(input: DescribeImagesCommandInput): Out<DescribeImagesCommandOutput> {
    this.check('ecr:DescribeImages');
    const tags = this.images.get(`${input.registryId ?? ''}/${input.repositoryName ?? ''}`);
    if (tags === undefined) throw awsError('RepositoryNotFoundException', `The repository with name '${input.repositoryName ?? ''}' does not exist in the registry with id '${input.registryId ?? ''}'`);
    const tag = input.imageIds?.[0]?.imageTag;
    if (tag === undefined || !tags.has(tag)) throw awsError('ImageNotFoundException', `The image with imageId {imageTag:'${tag ?? ''}'} does not exist within the repository with name '${input.repositoryName ?? ''}'`);
    return { imageDetails: [{ registryId: input.registryId, repositoryName: input.repositoryName, imageTags: [tag], imageDigest: `sha256:${'0'.repeat(63)}1`, imagePushedAt: new Date('2026-01-01T00:00:00Z') }] };
  }

  // ---- SSM ---------------------------------------------------------------------------------

  describeInstanceInformation(input: { Filters?: { Key?: string; Values?: string[] }[] }): Out<DescribeInstanceInformationCommandOutput> {
    const ids = input.Filters?.find((f) => f.Key === 'InstanceIds')?.Values ?? [];
    const list = ids.map((id) => this.instances.get(id)).filter((i): i is FakeInstance => i !== undefined && i.state === 'running');
    const online = list.filter((i) => {
      if (i.pingsUntilOnline > 0) { i.pingsUntilOnline -= 1; return false; }
      return true;
    });
    return { InstanceInformationList: online.map((i) => ({ InstanceId: i.id, PingStatus: 'Online', AgentVersion: '3.3.0', PlatformName: 'Ubuntu' })) };
  }

  sendCommand(input: SendCommandCommandInput): Out<SendCommandCommandOutput> {
    this.check('ssm:SendCommand');
    const instanceId = input.InstanceIds?.[0] ?? '';
    const inst = this.instances.get(instanceId);
    if (inst === undefined || inst.state !== 'running') throw awsError('InvalidInstanceId', 'Instances not in a valid state for account');
    const script = input.Parameters?.commands?.[0] ?? '';
    this.seq += 1;
    const cmd: FakeCommand = { id: `cmd-${this.seq.toString().padStart(4, '0')}`, instanceId, script, comment: input.Comment ?? '', kind: kindOf(script), polls: 0, status: 'InProgress', stdout: '', input };
    this.commands.push(cmd);
    this.check('ssm:SendCommand:after');
    return { Command: { CommandId: cmd.id, Status: 'Pending' } };
  }

  getCommandInvocation(input: { CommandId?: string; InstanceId?: string }): Out<GetCommandInvocationCommandOutput> {
    const cmd = this.commands.find((c) => c.id === input.CommandId && c.instanceId === input.InstanceId);
    if (cmd === undefined) throw awsError('InvocationDoesNotExist', 'InvocationDoesNotExist');
    cmd.polls += 1;
    if (cmd.polls <= this.invocationLag) throw awsError('InvocationDoesNotExist', 'InvocationDoesNotExist');
    if (cmd.status === 'InProgress' && !this.held.has(cmd.kind) && cmd.polls > this.invocationLag + this.commandPolls) this.finish(cmd);
    const code = cmd.status === 'Success' ? 0 : cmd.status === 'Failed' ? 1 : -1;
    return { CommandId: cmd.id, InstanceId: cmd.instanceId, Status: cmd.status, StatusDetails: cmd.status, ResponseCode: code, StandardOutputContent: cmd.stdout, StandardErrorContent: '' };
  }

  cancelCommand(input: { CommandId?: string }): Record<string, never> {
    const cmd = this.commands.find((c) => c.id === input.CommandId);
    if (cmd !== undefined && cmd.status === 'InProgress') cmd.status = 'Cancelled';
    return {};
  }

  getParameter(input: { Name?: string; WithDecryption?: boolean }): Out<GetParameterCommandOutput> {
    const [name, v] = (input.Name ?? '').split(':');
    const p = this.parameters.get(name ?? '');
    if (p === undefined) throw awsError('ParameterNotFound', 'ParameterNotFound');
    const version = v === undefined ? p.values.length : Number(v);
    const value = p.values[version - 1];
    if (value === undefined) throw awsError('ParameterVersionNotFound', 'ParameterVersionNotFound');
    return { Parameter: { Name: name, Type: 'SecureString', Version: version, Value: input.WithDecryption === true ? value : 'AQICAH-encrypted' } };
  }

  putParameter(input: { Name?: string; Value?: string; Overwrite?: boolean; Tags?: { Key?: string; Value?: string }[]; Type?: string }): Out<PutParameterCommandOutput> {
    this.check('ssm:PutParameter');
    if (input.Type !== 'SecureString') throw awsError('ValidationException', 'test world: token parameters must be SecureString');
    const name = input.Name ?? '';
    const p = this.parameters.get(name);
    if (p !== undefined && input.Overwrite !== true) throw awsError('ParameterAlreadyExists', 'ParameterAlreadyExists');
    if (input.Overwrite === true && input.Tags !== undefined) throw awsError('ValidationException', 'Invalid request: tags and overwrite can\'t be used together.');
    if (p === undefined) {
      const tags: Record<string, string> = {};
      for (const t of input.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
      this.parameters.set(name, { values: [input.Value ?? ''], tags });
      return { Version: 1 };
    }
    p.values.push(input.Value ?? '');
    return { Version: p.values.length };
  }

  deleteParameter(input: { Name?: string }): Record<string, never> {
    this.check('ssm:DeleteParameter');
    if (!this.parameters.delete(input.Name ?? '')) throw awsError('ParameterNotFound', 'ParameterNotFound');
    return {};
  }

  /** Runs a command's effect on the world and sets its outcome. */
  protected finish(cmd: FakeCommand): void {
    const inst = this.instances.get(cmd.instanceId);
    if (this.takeFault(`command:${cmd.kind}`) !== undefined || inst === undefined || inst.state !== 'running') {
      cmd.status = 'Failed';
      cmd.stdout = `==> ${cmd.kind}\n!! ${cmd.kind} failed during "install" (exit 1); last lines:\n   | E: Unable to fetch (token glrt-LEAKED0123456789 in a log line)\n{"kind":"failure","script":"${cmd.kind}","step":"install","exitCode":1}\n`;
      return;
    }
    cmd.status = 'Success';
    if (cmd.kind.startsWith('phase-')) {
      const phase = cmd.kind.slice(6);
      const changed = !inst.configured.has(phase);
      inst.configured.add(phase);
      let out = `==> ${phase}\n{"kind":"phase","phase":"${phase}","changed":${String(changed)}}\n`;
      if (phase === 'runner') {
        const env = inst.tags['runner-ops:environment'] ?? '';
        const token = [...this.parameters.entries()].find(([n]) => n.includes(`/${env}/`))?.[1].values.at(-1);
        let tokenChanged = false;
        if (token !== undefined && token !== inst.configuredToken) {
          inst.configuredToken = token;
          tokenChanged = true;
        }
        if (token !== undefined) this.onRunnerConfigured(token, inst.id);
        this.keyPairs.set(`runner-ops-${env}-${inst.id}`, { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:manager': inst.id });
        out = `==> ${phase}\n{"kind":"phase","phase":"runner","changed":${String(changed || tokenChanged)}}\n`
          + `{"kind":"manager","environment":"${env}","instanceId":"${inst.id}","region":"eu-central-1","arch":"arm64","distro":"ubuntu-24.04","keyPair":"runner-ops-${env}-${inst.id}","workerAmi":"ami-0123456789abcdef0","versions":{"gitlabRunner":"18.5.0","dockerMachine":"0.16.2-gitlab.21","ecrCredentialHelper":"0.11.0"},"restarted":false,"changed":${String(changed || tokenChanged)}}\n`;
      }
      if (phase === 'keypair') {
        const env = inst.tags['runner-ops:environment'] ?? '';
        this.keyPairs.set(`runner-ops-${env}-${inst.id}`, { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:manager': inst.id });
      }
      cmd.stdout = out;
    } else if (cmd.kind === 'drain') {
      inst.runnerStopped = true;
      this.onRunnerStopped(inst.id);
      cmd.stdout = '==> stop taking jobs\n{"kind":"drain","graceful":true,"waitedSeconds":10}\n';
    } else if (cmd.kind === 'remove-workers') {
      const workers = this.live('worker').filter((w) => w.tags['runner-ops:manager'] === inst.id);
      for (const w of workers) w.state = 'terminated';
      cmd.stdout = `{"kind":"workers","removed":${workers.length},"failed":0}\n`;
    } else if (['verify-ecr', 'manager-ecr', 'worker-ready'].includes(cmd.kind)) {
      const scripted = this.answers.get(cmd.kind);
      const outcome = scripted !== undefined ? scripted(cmd, inst) : this.defaultAnswer(cmd, inst);
      if (outcome === undefined) { cmd.status = 'InProgress'; return; }
      cmd.status = outcome.ok ? 'Success' : 'Failed';
      cmd.stdout = outcome.stdout;
    }
  }

  /** What the real verify-ecr scripts print on a healthy fleet. */
  protected defaultAnswer(cmd: FakeCommand, inst: FakeInstance): CommandAnswer {
    if (cmd.kind === 'manager-ecr') {
      const registry = /^REGISTRY=(\S+)$/m.exec(cmd.script)?.[1] ?? '';
      return { ok: true, stdout: `${JSON.stringify({ kind: 'manager-ecr', registry, ok: true, seconds: 1, credHelper: 'ecr-login', error: '' })}\n` };
    }
    if (cmd.kind === 'worker-ready') {
      if ((inst.readyProbes ?? 0) > 0) {
        inst.readyProbes = (inst.readyProbes ?? 0) - 1;
        return { ok: true, stdout: '{"kind":"worker-wait","cloudInit":"running"}\n' };
      }
      const env = inst.tags['runner-ops:environment'] ?? '';
      return { ok: true, stdout: `${JSON.stringify({ kind: 'worker', environment: env, variant: 'verify', arch: 'arm64', distro: 'ubuntu-24.04', ecrCredentialHelper: '0.12.0', changed: true })}\n` };
    }
    return verifyOutput([verifyLine('host', 'ok'), verifyLine('container', 'ok'), verifyLine('dind', 'ok')]);
  }
}

/** The world behind aws-sdk-client-mock: every EC2, SSM and ECR client in this process talks to it. */
export class AwsWorld extends AwsWorldState {
  readonly ec2 = mockClient(EC2Client);
  readonly ssm = mockClient(SSMClient);
  readonly ecr = mockClient(ECRClient);

  constructor() {
    super();
    this.install();
  }

  reset(): void {
    this.ec2.reset();
    this.ssm.reset();
    this.ecr.reset();
    this.resetState();
    this.install();
  }

  restore(): void { this.ec2.restore(); this.ssm.restore(); this.ecr.restore(); }

  private install(): void {
    this.ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => this.runInstances(input));
    this.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[]; Filters?: Filter[] }) => this.describeInstances(input));
    this.ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => this.terminateInstances(input));
    this.ec2.on(CreateTagsCommand).resolves({});
    this.ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { Filters?: Filter[] }) => this.describeSecurityGroups(input));
    this.ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => this.describeImages(input));
    this.ec2.on(DescribeKeyPairsCommand).callsFake((input: { KeyNames?: string[]; Filters?: Filter[] }) => this.describeKeyPairs(input));
    this.ec2.on(DeleteKeyPairCommand).callsFake((input: { KeyName?: string }) => this.deleteKeyPair(input));
    this.ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Key?: string; Values?: string[] }[] }) => this.describeInstanceInformation(input));
    this.ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => this.sendCommand(input));
    this.ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string; InstanceId?: string }) => this.getCommandInvocation(input));
    this.ssm.on(CancelCommandCommand).callsFake((input: { CommandId?: string }) => this.cancelCommand(input));
    this.ssm.on(GetParameterCommand).callsFake((input: { Name?: string; WithDecryption?: boolean }) => this.getParameter(input));
    this.ssm.on(PutParameterCommand).callsFake((input: { Name?: string; Value?: string; Overwrite?: boolean; Tags?: { Key?: string; Value?: string }[]; Type?: string }) => this.putParameter(input));
    this.ssm.on(DeleteParameterCommand).callsFake((input: { Name?: string }) => this.deleteParameter(input));
  }
}
