/**
 * Operation ids (CONTRACT §4): `op-` and six characters of [0-9a-z], at least one of them a
 * letter (for example `op-k3x9qa`). The shape is usable as a BullMQ job id, an AWS tag value, part
 * of an EC2 `ClientToken` and of an STS session name; the letter keeps an id from ever looking
 * like a number to YAML, spreadsheets or Slack.
 *
 * Ids are unique enough to name an operation (36^6 ≈ 2.2e9), not secrets: whoever stores them
 * still refuses a duplicate.
 */
import { randomBytes } from 'node:crypto';
import { RunnerOpsError } from './errors';

/** Anchored; no `g` flag, so `test` is stateless. */
export const OPERATION_ID_PATTERN = /^op-(?=[0-9]{0,5}[a-z])[0-9a-z]{6}$/;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 6;
/** Bytes at or above this are rejected so that `byte % 36` is uniform (252 = 7 × 36). */
const UNBIASED_LIMIT = 252;
/** Bytes asked of the random source per attempt; six are needed, most attempts need one draw. */
const BYTES_PER_ATTEMPT = 16;
/** An attempt fails with probability ≈ (10/36)^6; a source failing this often is broken. */
const MAX_ATTEMPTS = 64;

export function isOperationId(s: unknown): boolean {
  return typeof s === 'string' && OPERATION_ID_PATTERN.test(s);
}

/**
 * A new operation id, drawn uniformly from the ids with at least one letter (rejection
 * sampling). `random` is injectable for tests; it defaults to node:crypto's `randomBytes`.
 * Throws RunnerOpsError('internal') only if the random source keeps producing unusable bytes
 * (e.g. a stub that always returns zeros), rather than looping forever.
 */
export function newOperationId(random: (n: number) => Buffer = randomBytes): string {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let chars = '';
    for (const byte of random(BYTES_PER_ATTEMPT)) {
      if (byte >= UNBIASED_LIMIT) continue;
      chars += ALPHABET[byte % ALPHABET.length];
      if (chars.length === ID_LENGTH) break;
    }
    const id = `op-${chars}`;
    if (OPERATION_ID_PATTERN.test(id)) return id;
  }
  throw new RunnerOpsError('internal', 'the random source did not yield an operation id');
}
