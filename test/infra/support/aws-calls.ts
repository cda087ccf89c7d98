/**
 * What AWS calls the code makes, read from the source, for the consistency test.
 *
 * The bot (src/**, SDK v3): every `new XxxCommand(` whose class is imported from an
 * `@aws-sdk/client-*` package is the IAM action `<service>:Xxx`; `paginateXxx(` likewise; STS
 * AssumeRole comes from `fromTemporaryCredentials` (clients.ts, environments with `roleArn`).
 * Which identity makes the call follows from the client: EC2, SSM and ECR clients are built per
 * environment (the bot role, or the environment's `runner-ops` role); SQS and STS use the bot's own.
 *
 * The manager (src/fleet/**): every `aws <service> <operation>` in the scripts it runs.
 *
 * A call this reader cannot attribute (a `...Command` class from elsewhere, a waiter, a client
 * package with no mapping) is a problem the test reports: extend the mapping, never skip it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Who makes the call: the bot's own role, or whichever role acts for the environment. */
export type Identity = 'bot' | 'environment';

export interface AwsCall {
  action: string;
  identity: Identity;
  /** `file:line`, or the reason for calls that are not in the source yet. */
  where: string;
}

export interface ScanResult {
  calls: AwsCall[];
  problems: string[];
}

/** SDK client package -> IAM service prefix and the identity its client runs as. */
export const CLIENT_PACKAGES: Readonly<Record<string, { prefix: string; identity: Identity }>> = {
  '@aws-sdk/client-ec2': { prefix: 'ec2', identity: 'environment' },
  '@aws-sdk/client-ssm': { prefix: 'ssm', identity: 'environment' },
  '@aws-sdk/client-ecr': { prefix: 'ecr', identity: 'environment' },
  '@aws-sdk/client-sqs': { prefix: 'sqs', identity: 'bot' },
  '@aws-sdk/client-sts': { prefix: 'sts', identity: 'bot' },
};

/**
 * SDK operations authorised under another action's name. SQS batch operations have no permission
 * of their own: "setting permissions for SendMessage, DeleteMessage, or ChangeMessageVisibility
 * sets permissions for the corresponding batch versions" (SQS Developer Guide, batch actions).
 */
export const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

/** Functions of other SDK packages that call AWS. */
const CREDENTIAL_CALLS: Readonly<Record<string, { action: string; identity: Identity }>> = {
  fromTemporaryCredentials: { action: 'sts:AssumeRole', identity: 'bot' },
};

/**
 * Permissions an action needs besides its own, as AWS authorises it: tags in RunInstances are
 * CreateTags, the instance profile is PassRole, a `resolve:ssm:` AMI is GetParameters, the first
 * Spot launch creates the Spot service-linked role; a PutParameter with Tags is also
 * AddTagsToResource and, for a SecureString under a customer key, Encrypt/GenerateDataKey; a
 * GetParameter with decryption is Decrypt.
 */
export const IMPLIED_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  'ec2:RunInstances': ['ec2:CreateTags', 'iam:PassRole', 'ssm:GetParameters', 'iam:CreateServiceLinkedRole'],
  'ssm:PutParameter': ['ssm:AddTagsToResource', 'kms:Encrypt', 'kms:GenerateDataKey'],
  'ssm:GetParameter': ['kms:Decrypt'],
};

/**
 * Calls that parallel work adds (issue 7: the Spot alert consumer; issue 6: verify-ecr's preflight
 * and its Spot worker). Granted now, so that the test keeps passing when they land; once they are
 * in src/ the scan finds them too and these entries change nothing.
 */
export const ANTICIPATED_CALLS: readonly AwsCall[] = [
  { action: 'sqs:ReceiveMessage', identity: 'bot', where: 'issue 7: Spot alert consumer' },
  { action: 'sqs:DeleteMessage', identity: 'bot', where: 'issue 7: Spot alert consumer' },
  { action: 'sqs:ChangeMessageVisibility', identity: 'bot', where: 'issue 7: Spot alert consumer (back-off)' },
  { action: 'sqs:GetQueueAttributes', identity: 'bot', where: 'issue 7: Spot alert consumer (queue checks)' },
  { action: 'ecr:DescribeImages', identity: 'environment', where: 'issue 6: verify-ecr preflight' },
  { action: 'ec2:RunInstances', identity: 'environment', where: 'issue 6: Spot verify worker (InstanceMarketOptions)' },
];

const IMPORT_NAMED = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g;
const IMPORT_NAMESPACE = /import\s+\*\s+as\s+(\w+)\s+from\s*['"]([^'"]+)['"]/g;
const NEW_EXPRESSION = /\bnew\s+(?:(\w+)\.)?(\w+)\s*\(/g;
const CALL = /\b(?:(\w+)\.)?(paginate\w+|waitUntil\w+|waitFor\w+|fromTemporaryCredentials)\s*\(/g;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** The SDK calls in one source file. */
export function scanSource(file: string, text: string): ScanResult {
  const calls: AwsCall[] = [];
  const problems: string[] = [];
  // local name -> [exported name, package]
  const named = new Map<string, [string, string]>();
  const namespaces = new Map<string, string>();
  for (const m of text.matchAll(IMPORT_NAMED)) {
    const pkg = m[2] ?? '';
    for (const raw of (m[1] ?? '').split(',')) {
      const item = raw.trim().replace(/^type\s+/, '');
      if (item === '') continue;
      const [exported, local] = item.split(/\s+as\s+/).map((s) => s.trim());
      if (exported !== undefined) named.set(local ?? exported, [exported, pkg]);
    }
  }
  for (const m of text.matchAll(IMPORT_NAMESPACE)) namespaces.set(m[1] ?? '', m[2] ?? '');

  const resolveName = (ns: string | undefined, name: string): [string, string] | undefined =>
    ns !== undefined ? (namespaces.has(ns) ? [name, namespaces.get(ns) ?? ''] : undefined) : named.get(name);

  const record = (exported: string, pkg: string, operation: string, index: number) => {
    const where = `${file}:${lineOf(text, index)}`;
    const client = CLIENT_PACKAGES[pkg];
    if (client === undefined) {
      problems.push(`${where}: ${exported} comes from ${pkg}, which has no IAM mapping in CLIENT_PACKAGES`);
      return;
    }
    const action = `${client.prefix}:${operation}`;
    calls.push({ action: ACTION_OF_OPERATION[action] ?? action, identity: client.identity, where });
  };

  for (const m of text.matchAll(NEW_EXPRESSION)) {
    const [ns, name] = [m[1], m[2] ?? ''];
    const resolved = resolveName(ns, name);
    const where = `${file}:${lineOf(text, m.index)}`;
    if (resolved !== undefined && resolved[1].startsWith('@aws-sdk/client-') && resolved[0].endsWith('Command')) {
      record(resolved[0], resolved[1], resolved[0].replace(/Command$/, ''), m.index);
    } else if ((resolved?.[0] ?? name).endsWith('Command') && !(resolved?.[1].startsWith('@aws-sdk/') ?? false)) {
      problems.push(`${where}: new ${ns !== undefined ? `${ns}.` : ''}${name}( is not imported from an @aws-sdk client: say which AWS action it is`);
    }
  }
  for (const m of text.matchAll(CALL)) {
    const [ns, name] = [m[1], m[2] ?? ''];
    const resolved = resolveName(ns, name);
    if (resolved === undefined || !resolved[1].startsWith('@aws-sdk/')) continue; // a local function of that name
    const where = `${file}:${lineOf(text, m.index)}`;
    const credential = CREDENTIAL_CALLS[resolved[0]];
    if (credential !== undefined) calls.push({ ...credential, where });
    else if (resolved[0].startsWith('paginate')) record(resolved[0], resolved[1], resolved[0].slice('paginate'.length), m.index);
    else problems.push(`${where}: ${resolved[0]} polls AWS: add the actions it calls to the scanner`);
  }
  return { calls, problems };
}

/** `aws ec2 import-key-pair` -> `ec2:ImportKeyPair`, for the scripts the manager runs. */
export function scanCliCalls(file: string, text: string): AwsCall[] {
  const calls: AwsCall[] = [];
  // Not after a backtick: `aws ec2 ...` in backticks is advice printed for a person (a diagnosis),
  // not a command the scripts run (they use $(...), never backticks).
  for (const m of text.matchAll(/(?<!`)\baws\s+(ec2|ssm|ecr|s3api|sts|sqs|iam|kms)\s+([a-z][a-z0-9-]*)/g)) {
    const service = m[1] === 's3api' ? 's3' : m[1] ?? '';
    const operation = (m[2] ?? '').split('-').map((w) => (w[0]?.toUpperCase() ?? '') + w.slice(1)).join('');
    calls.push({ action: `${service}:${operation}`, identity: 'environment', where: `${file}:${lineOf(text, m.index)}` });
  }
  return calls;
}

/** Non-test TypeScript files under `dir`, relative to `root`. */
export function sourceFiles(root: string, dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        out.push({ file: relative(root, full), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(join(root, dir));
  return out;
}

export function scanSources(files: readonly { file: string; text: string }[]): ScanResult {
  const results = files.map((f) => scanSource(f.file, f.text));
  return { calls: results.flatMap((r) => r.calls), problems: results.flatMap((r) => r.problems) };
}

/** Every action a call needs, with what it implies. */
export function withImplied(calls: readonly AwsCall[]): AwsCall[] {
  return calls.flatMap((c) => [c, ...(IMPLIED_ACTIONS[c.action] ?? []).map((action) => ({ ...c, action, where: `${c.where} (implied by ${c.action})` }))]);
}
