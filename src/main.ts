/**
 * Process entry: parse the environment and the fleet file (refusing to start with every problem
 * listed), start one bot replica, stop it cleanly on SIGTERM/SIGINT.
 */
import { loadFleetFile, parseEnv } from './config/load';
import { startBot } from './app';
import { createLogger } from './logger';
import { registerProductOperations } from './operations/catalogue';

async function main(): Promise<void> {
  let env;
  let fleet;
  try {
    env = parseEnv(process.env);
    fleet = loadFleetFile(env.RUNNER_OPS_CONFIG);
  } catch (err) {
    process.stderr.write(`runner-ops cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger(env.LOG_LEVEL);
  const bot = await startBot({ env, fleet, log, register: registerProductOperations });
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    bot.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`runner-ops failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
