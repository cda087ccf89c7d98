/**
 * The AWS wire formats the end-to-end fake speaks, as @aws-sdk 3.x sends and reads them (checked
 * against the clients in node_modules and test/e2e/aws-http-fake.test.ts, not guessed):
 * - EC2 Query requests: form-encoded, EC2's own member names (`InstanceId.1`, `Filter.1.Value.1`,
 *   `TagSpecification.1.Tag.1.Key`, `NetworkInterface.1.SecurityGroupId.1`), turned here into the
 *   SDK's input shapes (`InstanceIds`, `Filters[].Values`, `TagSpecifications[].Tags`, `Groups`);
 * - EC2 answers: XML in the EC2 namespace, lowerCamel names, lists as `<xxxSet><item>`; errors
 *   `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`;
 * - STS (awsQuery): `<XResponse><XResult>…` answers, `<ErrorResponse><Error>` errors;
 * - JSON 1.1 (SSM, ECR): the SDK's shapes, timestamps as epoch seconds.
 */
import { randomUUID } from 'node:crypto';

export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

// ---- EC2 Query protocol: request parsing ------------------------------------------------------

/** Query members whose values are numbers or booleans in the SDK's shapes (the rest are strings). */
const NUMBERS = new Set(['MaxCount', 'MinCount', 'MaxResults', 'VolumeSize', 'DeviceIndex', 'HttpPutResponseHopLimit', 'Iops', 'Throughput']);
const BOOLEANS = new Set(['DeleteOnTermination', 'AssociatePublicIpAddress', 'DryRun', 'Encrypted', 'EbsOptimized']);
/** EC2 query list names whose SDK member is not the name plus `s`. */
const LIST_NAMES: Record<string, string> = { ResourceId: 'Resources', 'NetworkInterface.SecurityGroupId': 'Groups' };

type Tree = Record<string, unknown>;

/** `a.1.b=x` pairs as a tree: numeric segments become (1-based) array positions. */
export function queryTree(params: URLSearchParams): Tree {
  const root: Tree = {};
  for (const [key, raw] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string | number, unknown> = root;
    for (const [i, part] of parts.entries()) {
      const index = /^\d+$/.test(part) ? Number(part) - 1 : part;
      if (i === parts.length - 1) {
        node[index] = NUMBERS.has(part) ? Number(raw) : BOOLEANS.has(part) ? raw === 'true' : raw;
        break;
      }
      const next = parts[i + 1] ?? '';
      node[index] ??= /^\d+$/.test(next) ? [] : {};
      node = node[index] as Record<string | number, unknown>;
    }
  }
  return root;
}

/** EC2 query names to the SDK's: a list `Filter` is `Filters`, `Value` inside it `Values`, … */
export function toSdkShape(value: unknown, parent = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => toSdkShape(v, parent));
  if (typeof value !== 'object' || value === null) return value;
  const out: Tree = {};
  for (const [k, v] of Object.entries(value)) {
    const name = Array.isArray(v) ? LIST_NAMES[`${parent}.${k}`] ?? LIST_NAMES[k] ?? `${k}s` : k;
    out[name] = toSdkShape(v, k);
  }
  return out;
}

// ---- EC2 Query protocol: XML answers ---------------------------------------------------------

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function el(name: string, value: string | number | boolean | Date | undefined | null): string {
  if (value === undefined || value === null) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `<${name}>${esc(text)}</${name}>`;
}

function set<T>(name: string, list: readonly T[] | undefined, render: (item: T) => string): string {
  return `<${name}>${(list ?? []).map((i) => `<item>${render(i)}</item>`).join('')}</${name}>`;
}

const STATE_CODES: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };
const state = (name: string, s: { Name?: string } | undefined): string => (s?.Name === undefined ? '' : `<${name}>${el('code', STATE_CODES[s.Name] ?? 0)}${el('name', s.Name)}</${name}>`);
const tagSet = (tags: readonly { Key?: string; Value?: string }[] | undefined): string => (tags === undefined ? '' : set('tagSet', tags, (t) => `${el('key', t.Key)}${el('value', t.Value)}`));

export type Sdk = Record<string, unknown>;
const arr = (v: unknown): Sdk[] => (Array.isArray(v) ? v as Sdk[] : []);
export const obj = (v: unknown): Sdk | undefined => (typeof v === 'object' && v !== null ? v as Sdk : undefined);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function instanceXml(i: Sdk): string {
  const placement = obj(i.Placement);
  const reason = obj(i.StateReason);
  return el('instanceId', str(i.InstanceId)) + el('instanceType', str(i.InstanceType)) + state('instanceState', obj(i.State))
    + el('launchTime', i.LaunchTime instanceof Date ? i.LaunchTime : undefined) + tagSet(arr(i.Tags))
    + (placement === undefined ? '' : `<placement>${el('availabilityZone', str(placement.AvailabilityZone))}</placement>`)
    + el('instanceLifecycle', str(i.InstanceLifecycle)) + el('privateIpAddress', str(i.PrivateIpAddress))
    + (reason === undefined ? '' : `<stateReason>${el('code', str(reason.Code))}${el('message', str(reason.Message))}</stateReason>`);
}

/** The XML body (inside `<ActionResponse>`) of a world answer. */
export function ec2Xml(action: string, out: Sdk): string {
  switch (action) {
    case 'RunInstances':
      return `${el('reservationId', `r-${randomUUID().slice(0, 17).replace(/-/g, '')}`)}${el('ownerId', '123456789012')}${set('instancesSet', arr(out.Instances), instanceXml)}`;
    case 'DescribeInstances':
      return set('reservationSet', arr(out.Reservations), (r) => `${el('reservationId', 'r-0fake')}${el('ownerId', '123456789012')}${set('instancesSet', arr(r.Instances), instanceXml)}`)
        + el('nextToken', str(out.NextToken));
    case 'TerminateInstances':
      return set('instancesSet', arr(out.TerminatingInstances), (t) => `${el('instanceId', str(t.InstanceId))}${state('currentState', obj(t.CurrentState))}${state('previousState', obj(t.PreviousState))}`);
    case 'DescribeSecurityGroups':
      return set('securityGroupInfo', arr(out.SecurityGroups), (g) => `${el('groupId', str(g.GroupId))}${el('groupName', str(g.GroupName))}${el('vpcId', str(g.VpcId))}`);
    case 'DescribeKeyPairs':
      return set('keySet', arr(out.KeyPairs), (k) => `${el('keyName', str(k.KeyName))}${tagSet(arr(k.Tags))}`);
    default:
      return el('return', true);
  }
}

/** The body of an AssumeRoleResult. */
export function stsXml(out: Sdk): string {
  const user = obj(out.AssumedRoleUser);
  const c = obj(out.Credentials);
  return `<AssumedRoleUser>${el('AssumedRoleId', str(user?.AssumedRoleId))}${el('Arn', str(user?.Arn))}</AssumedRoleUser>`
    + `<Credentials>${el('AccessKeyId', str(c?.AccessKeyId))}${el('SecretAccessKey', str(c?.SecretAccessKey))}${el('SessionToken', str(c?.SessionToken))}${el('Expiration', c?.Expiration instanceof Date ? c.Expiration : undefined)}</Credentials>`;
}

export function ec2Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${el('Code', code)}${el('Message', message)}</Error></Errors>${el('RequestID', randomUUID())}</Response>`;
}

/** STS (awsQuery) errors: `<ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>`. */
export function stsError(code: string, message: string): string {
  return `<ErrorResponse xmlns="${STS_NS}"><Error>${el('Type', 'Sender')}${el('Code', code)}${el('Message', message)}</Error>${el('RequestId', randomUUID())}</ErrorResponse>`;
}

/** JSON protocol: Dates as epoch seconds, as the SDK's JSON deserializers read them. */
export const jsonBody = (out: unknown): string => JSON.stringify(out, function replacer(this: Record<string, unknown>, key, value: unknown) {
  const original = this[key];
  return original instanceof Date ? original.getTime() / 1000 : value;
});
