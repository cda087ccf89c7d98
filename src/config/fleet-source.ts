/**
 * The fleet file as it is now. Operations compare the section they were approved for with the
 * current one, so the file is re-read when it changes on disk (checked at most once a second).
 * A file that stops validating is logged and the last valid version is kept: a typo must not
 * take the bot down, and an approved operation then still runs against what was approved.
 */
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { FleetConfig } from './fleet-schema';
import { loadFleetFile } from './load';

export type FleetSource = () => FleetConfig;

export function createFleetSource(path: string, initial: FleetConfig, log: Logger, now: () => number = Date.now): FleetSource {
  let current = initial;
  let mtime = safeMtime(path);
  let checkedAt = now();
  return () => {
    if (now() - checkedAt < 1_000) return current;
    checkedAt = now();
    const m = safeMtime(path);
    if (m === mtime) return current;
    mtime = m;
    try {
      current = loadFleetFile(path);
      log.info({ path }, 'fleet file reloaded');
    } catch (err) {
      log.error({ path, problems: err instanceof Error ? err.message : String(err) }, 'fleet file changed but does not validate; keeping the last valid version');
    }
    return current;
  };
}

function safeMtime(path: string): number {
  try { return statSync(path).mtimeMs; } catch { return -1; }
}
