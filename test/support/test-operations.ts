/**
 * Operations that only the tests register, to prove the framework (the product registers its own
 * in src/operations/catalogue.ts). Each step records that it ran; a test can hold a step on a
 * gate, make it fail, or make it save in-flight state.
 */
import type { ChangingVerb } from '../../src/domain/command';
import type { Json, OperationDefinition, PlanDetail, StepContext } from '../../src/operations/framework/types';

export interface StepRun { op: string; step: string; saved: Json | undefined; worker: string }

export class Gate {
  private release!: () => void;
  readonly opened: Promise<void> = new Promise<void>((resolve) => { this.release = resolve; });
  open(): void { this.release(); }
}

export interface ScriptedOptions {
  verb?: ChangingVerb;
  steps?: string[];
  /** Per step: what to do; default records and returns `{ step }`. */
  behaviour?: Record<string, (ctx: StepContext) => Promise<Json | void>>;
  runs: StepRun[];
  worker?: string;
  cleanups?: Array<{ op: string; outcome: string; saved: Record<string, Json> }>;
  /** The plan's details (what --dry-run shows); default one small `script.sh`. */
  details?: readonly PlanDetail[];
}

export function scriptedOperation(o: ScriptedOptions): OperationDefinition {
  const steps = o.steps ?? ['one', 'two', 'three'];
  return {
    verb: o.verb ?? 'bootstrap',
    plan: async ({ envName }) => ({
      summary: `*Test plan* for ${envName}: launch nothing, change nothing.`,
      steps: steps.map((s) => `step ${s}`),
      details: o.details ?? [{ title: 'Script', filename: 'script.sh', content: '#!/bin/bash\necho test\n' }],
    }),
    steps: steps.map((name) => ({
      name,
      label: `step ${name}`,
      run: async (ctx: StepContext) => {
        o.runs.push({ op: ctx.operation.id, step: name, saved: ctx.saved, worker: o.worker ?? 'w' });
        const b = o.behaviour?.[name];
        if (b !== undefined) return b(ctx);
        return { step: name };
      },
    })),
    cleanup: async (ctx) => { o.cleanups?.push({ op: ctx.operation.id, outcome: ctx.outcome, saved: { ...ctx.saved } }); },
    summarize: (results) => `ran ${Object.keys(results).length} steps`,
  };
}

export function waitUntil(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) { resolve(); return; }
      if (Date.now() > deadline) { reject(new Error(`timed out waiting for ${what}`)); return; }
      setTimeout(tick, 20);
    };
    tick();
  });
}
