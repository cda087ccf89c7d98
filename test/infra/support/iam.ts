/**
 * Reading IAM statements out of synthesized templates, and a deliberately small evaluator: does an
 * Allow statement name this action (wildcards as IAM matches them, case-insensitively), and is it
 * not unconditionally denied? Resources and conditions are asserted statement by statement in the
 * other tests; this answers only "is the action granted at all".
 */
import type { Template } from 'aws-cdk-lib/assertions';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

interface PolicyDocument { Statement: Statement[] }

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The statements of the customer managed policy with this name. */
export function managedPolicyStatements(template: Template, name: string): Statement[] {
  const found = Object.values(template.findResources('AWS::IAM::ManagedPolicy', { Properties: { ManagedPolicyName: name } }));
  if (found.length !== 1) throw new Error(`expected one managed policy ${name}, found ${found.length}`);
  return (found[0]?.Properties.PolicyDocument as PolicyDocument).Statement;
}

/** The role with this name: its resource properties. */
export function roleProperties(template: Template, roleName: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::IAM::Role', { Properties: { RoleName: roleName } }));
  if (found.length !== 1) throw new Error(`expected one role ${roleName}, found ${found.length}`);
  return found[0]?.Properties as Record<string, unknown>;
}

/** The statements of one inline policy of the role with this name. */
export function inlinePolicyStatements(template: Template, roleName: string, policyName: string): Statement[] {
  const policies = asArray(roleProperties(template, roleName).Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[]);
  const policy = policies.find((p) => p.PolicyName === policyName);
  if (policy === undefined) throw new Error(`role ${roleName} has no inline policy ${policyName}`);
  return policy.PolicyDocument.Statement;
}

export function actionsOf(statement: Statement): string[] {
  return asArray(statement.Action);
}

/** IAM action matching: `*` and `?` wildcards, case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split(/([*?])/).map((part) => (part === '*' ? '.*' : part === '?' ? '.' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'i');
  return re.test(action);
}

/** Granted by some Allow statement and not denied outright (a Deny on every resource without conditions). */
export function grants(statements: readonly Statement[], action: string): boolean {
  const deniedOutright = statements.some((s) => s.Effect === 'Deny' && s.Condition === undefined
    && asArray(s.Resource as string | string[]).includes('*') && actionsOf(s).some((p) => actionMatches(p, action)));
  return !deniedOutright && statements.some((s) => s.Effect === 'Allow' && actionsOf(s).some((p) => actionMatches(p, action)));
}

/** Every action an Allow statement names (as written, wildcards included). */
export function allowedActions(statements: readonly Statement[]): string[] {
  return [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap(actionsOf))].sort();
}

export function bySid(statements: readonly Statement[], sid: string): Statement {
  const found = statements.filter((s) => s.Sid === sid);
  if (found.length !== 1) throw new Error(`expected one statement ${sid}, found ${found.length}`);
  return found[0] as Statement;
}
