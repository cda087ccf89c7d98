/**
 * Which changing verbs this build can run. The composition root registers the operations; a verb
 * with no registered definition is answered "not available" and nothing is queued.
 */
import type { ChangingVerb } from '../../domain/command';
import type { OperationDefinition } from './types';

export class OperationRegistry {
  private readonly defs = new Map<ChangingVerb, OperationDefinition>();

  register(def: OperationDefinition): this {
    if (this.defs.has(def.verb)) throw new Error(`operation ${def.verb} is registered twice`);
    const names = new Set<string>();
    for (const step of def.steps) {
      if (names.has(step.name)) throw new Error(`operation ${def.verb} has two steps named ${step.name}`);
      names.add(step.name);
    }
    this.defs.set(def.verb, def);
    return this;
  }

  get(verb: ChangingVerb): OperationDefinition | undefined { return this.defs.get(verb); }
}
