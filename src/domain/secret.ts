/**
 * A secret value (a runner authentication token, a password) that cannot leak by accident.
 *
 * Contract: every way JavaScript turns a value into text yields `[redacted]`: `String(s)`,
 * template literals and `+` (Symbol.toPrimitive / toString), `JSON.stringify` (toJSON, so job
 * data, pino logs and Slack payloads that embed it are safe), `util.inspect` / `console.log`
 * (the inspect symbol). The value sits in a true private field, so spreading, `Object.keys`,
 * `structuredClone` and Jest's diff output do not see it either. Only `reveal()` returns it; call
 * it at the one place the value must leave the process (the SDK call that stores it).
 */
import { REDACTED } from './redact';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself. The only way to get it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Whether `value` is a Secret (for code that scrubs structures before logging them). */
export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
