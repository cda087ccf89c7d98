/**
 * A local AWS over real HTTP for the end-to-end suite: one server that a bot child process reaches
 * through AWS_ENDPOINT_URL_EC2 / _SSM / _ECR / _STS, answering from the same simulated world the
 * in-process tests use (AwsWorldState in test/fakes/aws-world.ts: instances boot pending ->
 * running, SSM comes online after a ping, commands run and print the scripts' summary lines,
 * parameters keep versions, key pairs, security groups, ECR images).
 *
 * Routing is by the request: `X-Amz-Target: AmazonSSM.<Action>` or
 * `AmazonEC2ContainerRegistry_V20150921.<Action>` is SSM or ECR (JSON 1.1); a form body with
 * `Version=2016-11-15` is EC2, `Version=2011-06-15` STS (Query protocol). The formats are in
 * ./aws-wire.ts. STS answers AssumeRole (environments with a `roleArn`): the credentials handed
 * out are kept in `assumedRoles`, and every request records the access key id it was signed
 * with, so a test can tell which calls used the role. SQS is not here: the SDK sends SQS requests
 * to the host inside the queue URL, which is the SqsFake's own server (test/fakes/sqs-fake.ts).
 *
 * Signatures are not checked. Only the actions the bot uses are implemented; anything else answers
 * 400 `InvalidAction` and is kept in `unexpected`, so a test can insist there was none.
 *
 * Fault injection happens on the wire, before the world sees the request (so an injected failure
 * of RunInstances launches nothing): `throttle(service, times, scope?)` answers the next `times`
 * matching requests (scope: an action, and/or a string the body must contain, such as an
 * operation id) with the service's throttling error (EC2 `RequestLimitExceeded` with HTTP 503,
 * SSM/ECR `ThrottlingException` with 400); `serverError(...)` with HTTP 500 `InternalError` /
 * `InternalServerError`. Every request, injected answers included, is in `requests`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeInstance } from '../fakes/aws-world';
import { AwsWorldState } from '../fakes/aws-world';
import { EC2_NS, STS_NS, ec2Error, ec2Xml, el, jsonBody, queryTree, stsError, stsXml, toSdkShape, type Sdk } from './aws-wire';

export type AwsService = 'ec2' | 'ssm' | 'ecr' | 'sts' | 'unknown';

export interface AwsRequest {
  service: AwsService;
  action: string;
  /** The input in the SDK's shape (EC2 query parameters renamed to the SDK's member names). */
  input: Record<string, unknown>;
  /** The request body as it arrived. */
  body: string;
  status: number;
  /** The error code answered, if any. */
  error: string | undefined;
  /** Set when the answer was an injected fault. */
  injected: boolean;
  /** The access key id the request was signed with (from its Authorization header). */
  accessKeyId: string | undefined;
  at: number;
}

/** A role session handed out by AssumeRole. */
export interface AssumedRole { roleArn: string; sessionName: string; accessKeyId: string; at: number }

interface WireFault { service: AwsService; action: string | undefined; bodyIncludes: string | undefined; remaining: number; status: number; code: string; message: string }

/** Which requests a fault applies to: an action, and/or requests whose body contains a string (an operation id, an instance id). */
export type FaultScope = string | { action?: string; bodyIncludes?: string };

const JSON_TARGETS: Record<string, AwsService> = { AmazonSSM: 'ssm', AmazonEC2ContainerRegistry_V20150921: 'ecr' };

// ---- the server --------------------------------------------------------------------------------

interface WorldError { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } }

export class AwsHttpFake {
  readonly requests: AwsRequest[] = [];
  /** Requests for actions the fake does not implement. */
  readonly unexpected: AwsRequest[] = [];
  /** Every AssumeRole the fake answered (the credentials it handed out are accepted like any other). */
  readonly assumedRoles: AssumedRole[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly faults: WireFault[] = [];

  constructor(readonly world: AwsWorldState = new AwsWorldState()) {}

  /** The base URL for AWS_ENDPOINT_URL_EC2 / _SSM / _ECR / _STS. */
  get url(): string { return `http://127.0.0.1:${this.port}`; }

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The next `times` requests to `service` that match `scope` (an action name, or
   * `{ action, bodyIncludes }`) answer the service's throttling error.
   */
  throttle(service: 'ec2' | 'ssm' | 'ecr', times: number, scope?: FaultScope): void {
    const code = service === 'ec2' ? 'RequestLimitExceeded' : 'ThrottlingException';
    this.addFault(service, scope, { remaining: times, status: service === 'ec2' ? 503 : 400, code, message: 'Rate exceeded' });
  }

  /** The next `times` requests to `service` that match `scope` answer HTTP 500. */
  serverError(service: 'ec2' | 'ssm' | 'ecr', times: number, scope?: FaultScope): void {
    const code = service === 'ec2' ? 'InternalError' : 'InternalServerError';
    this.addFault(service, scope, { remaining: times, status: 500, code, message: 'We encountered an internal error. Please try again.' });
  }

  private addFault(service: AwsService, scope: FaultScope | undefined, f: Pick<WireFault, 'remaining' | 'status' | 'code' | 'message'>): void {
    const s = typeof scope === 'string' ? { action: scope } : scope ?? {};
    this.faults.push({ service, action: s.action, bodyIncludes: s.bodyIncludes, ...f });
  }

  /** Faults injected but not served yet. */
  get pendingFaults(): number { return this.faults.reduce((n, f) => n + f.remaining, 0); }

  /** Requests of one action that reached the world (not injected faults). */
  served(action: string): AwsRequest[] { return this.requests.filter((r) => r.action === action && !r.injected); }

  /** Every instance the world knows that was launched through RunInstances. */
  launched(): FakeInstance[] { return [...this.world.instances.values()].filter((i) => i.launchInput !== undefined); }

  private takeFault(service: AwsService, action: string, body: string): WireFault | undefined {
    const f = this.faults.find((x) => x.service === service && (x.action === undefined || x.action === action)
      && (x.bodyIncludes === undefined || body.includes(x.bodyIncludes)) && x.remaining > 0);
    if (f === undefined) return undefined;
    f.remaining -= 1;
    if (f.remaining === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    const json = target !== '';
    const [prefix = '', jsonAction = ''] = target.split('.');
    let service: AwsService;
    let action: string;
    let input: Record<string, unknown>;
    if (json) {
      service = JSON_TARGETS[prefix] ?? 'unknown';
      action = jsonAction;
      try { input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>; } catch { input = {}; }
    } else {
      const params = new URLSearchParams(body);
      action = params.get('Action') ?? '';
      service = params.get('Version') === '2016-11-15' ? 'ec2' : params.get('Version') === '2011-06-15' ? 'sts' : 'unknown';
      input = toSdkShape(queryTree(params)) as Record<string, unknown>;
    }
    const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const record: AwsRequest = { service, action, input, body, status: 200, error: undefined, injected: false, accessKeyId, at: Date.now() };
    this.requests.push(record);

    const answer = (status: number, text: string) => {
      record.status = status;
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { 'content-type': json ? 'application/x-amz-json-1.1' : 'text/xml;charset=UTF-8', 'x-amzn-requestid': randomUUID() });
      res.end(text);
    };
    const fail = (status: number, code: string, message: string) => {
      record.error = code;
      answer(status, json ? JSON.stringify({ __type: code, message }) : service === 'sts' ? stsError(code, message) : ec2Error(code, message));
    };

    const fault = this.takeFault(service, action, body);
    if (fault !== undefined) {
      record.injected = true;
      fail(fault.status, fault.code, fault.message);
      return;
    }
    const handler = this.handlerFor(service, action);
    if (handler === undefined) {
      this.unexpected.push(record);
      fail(400, 'InvalidAction', `aws-http-fake: ${service} ${action} is not implemented`);
      return;
    }
    let out: Sdk;
    try {
      out = await handler(input);
    } catch (err) {
      const e = err as WorldError;
      const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 500;
      fail(status, typeof e.name === 'string' ? e.name : 'InternalError', typeof e.message === 'string' ? e.message : String(err));
      return;
    }
    if (json) answer(200, jsonBody(out));
    else if (service === 'sts') answer(200, `<${action}Response xmlns="${STS_NS}"><${action}Result>${stsXml(out)}</${action}Result><ResponseMetadata>${el('RequestId', randomUUID())}</ResponseMetadata></${action}Response>`);
    else answer(200, `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">${el('requestId', randomUUID())}${ec2Xml(action, out)}</${action}Response>`);
  }

  /** STS AssumeRole: fresh temporary credentials for one hour (signatures are not checked anyway). */
  private assumeRole(input: { RoleArn?: string; RoleSessionName?: string }): Sdk {
    const roleArn = input.RoleArn ?? '';
    const sessionName = input.RoleSessionName ?? '';
    if (!/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn) || !/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw Object.assign(new Error('1 validation error detected'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    }
    const accessKeyId = `ASIAE2E${String(this.assumedRoles.length + 1).padStart(9, '0')}`;
    this.assumedRoles.push({ roleArn, sessionName, accessKeyId, at: Date.now() });
    const role = roleArn.split('/').at(-1) ?? 'role';
    return {
      AssumedRoleUser: { AssumedRoleId: `AROAE2E:${sessionName}`, Arn: `arn:aws:sts::${roleArn.split(':')[4] ?? ''}:assumed-role/${role}/${sessionName}` },
      Credentials: { AccessKeyId: accessKeyId, SecretAccessKey: randomUUID(), SessionToken: randomUUID(), Expiration: new Date(Date.now() + 3_600_000) },
    };
  }

  /** The world's handler for one action, taking and returning SDK shapes. */
  private handlerFor(service: AwsService, action: string): ((input: Sdk) => Promise<Sdk>) | undefined {
    const w = this.world;
    const table: Partial<Record<AwsService, Record<string, (input: never) => unknown>>> = {
      ec2: {
        RunInstances: (i) => w.runInstances(i), DescribeInstances: (i) => w.describeInstances(i), TerminateInstances: (i) => w.terminateInstances(i),
        CreateTags: (i) => w.createTags(i), DescribeSecurityGroups: (i) => w.describeSecurityGroups(i), DescribeKeyPairs: (i) => w.describeKeyPairs(i),
        DeleteKeyPair: (i) => w.deleteKeyPair(i),
      },
      ssm: {
        DescribeInstanceInformation: (i) => w.describeInstanceInformation(i), SendCommand: (i) => w.sendCommand(i),
        GetCommandInvocation: (i) => w.getCommandInvocation(i), CancelCommand: (i) => w.cancelCommand(i), GetParameter: (i) => w.getParameter(i),
        PutParameter: (i) => w.putParameter(i), DeleteParameter: (i) => w.deleteParameter(i),
      },
      ecr: { DescribeImages: (i) => w.describeImages(i) },
      sts: { AssumeRole: (i: { RoleArn?: string; RoleSessionName?: string }) => this.assumeRole(i) },
    };
    const fn = table[service]?.[action];
    return fn === undefined ? undefined : async (input) => await Promise.resolve(fn(input as never)) as Sdk;
  }
}
