/**
 * Loading configuration: the process environment and the fleet file. Both are parsed in full and
 * every problem is reported at once (one ConfigError whose message lists them by path), so an
 * operator fixes a broken file in one go. Secret values are never part of a message.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { RunnerOpsError } from '../domain/errors';
import { crossVariableProblems, type Env, envInput, envSchema } from './env';
import { type EnvironmentConfig, type FleetConfig, fleetSchema } from './fleet-schema';

export class ConfigError extends RunnerOpsError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super('config_invalid', `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: string[] = []): string[] {
  return issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)].join('.');
    return `${path === '' ? '(top level)' : path}: ${issue.message}`;
  });
}

export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const input = envInput(source);
  const result = envSchema.safeParse(input);
  const problems = [...(result.success ? [] : formatIssues(result.error.issues)), ...crossVariableProblems(input)];
  if (!result.success || problems.length > 0) throw new ConfigError('the environment', problems);
  return result.data;
}

export function parseFleet(text: string, source = 'the fleet file'): FleetConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0] ?? e.message}`));
  }
  const result = fleetSchema.safeParse(doc.toJS());
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return result.data;
}

export function loadFleetFile(path: string): FleetConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(`the fleet file ${path}`, [`(file): ${reason}`]);
  }
  return parseFleet(text, `the fleet file ${path}`);
}

/** Key-sorted JSON, so that equal settings hash equally whatever their order in the file. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A fingerprint of one environment's section. An approval is given for the plan made from this
 * section; an operation whose environment's fingerprint changed before it ran does not run.
 */
export function environmentFingerprint(env: EnvironmentConfig): string {
  return createHash('sha256').update(canonicalJson(env)).digest('hex').slice(0, 16);
}
