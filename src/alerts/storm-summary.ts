/**
 * An environment's storm summary (due member `s:<env>`): one thread root, posted once and then
 * edited in place as instances join it or move on (terminated…). Edits are coalesced: whatever
 * changes while an edit is due or running is picked up by the next one, at most one per
 * `stormEditMs`, and each goes through the pacer's edit lane.
 */
import type { AlertContext } from './context';
import { digestOf } from './instance-thread';
import { renderStorm } from './render';

export async function workStorm(ctx: AlertContext, envName: string): Promise<void> {
  const member = `s:${envName}`;
  const st = await ctx.store.storms.get(envName);
  if (st === undefined || st.channel === '') { await ctx.store.remove(member); return; }
  const now = ctx.now();
  const fleet = ctx.fleet();
  const body = renderStorm({
    envName, known: fleet.environments[envName] !== undefined, startedAt: st.startedAt, now,
    windowSeconds: fleet.alerts.storm.windowSeconds, threshold: fleet.alerts.storm.threshold,
    members: await ctx.store.storms.members(envName),
  });
  try {
    if (st.threadTs === undefined) {
      const ts = await ctx.slack.post(st.channel, body);
      await ctx.store.storms.update(envName, { threadTs: ts, digest: digestOf(body) });
      ctx.log.info({ env: envName }, 'Spot storm summary posted');
    } else {
      await ctx.slack.update(st.channel, st.threadTs, body);
      await ctx.store.storms.update(envName, { digest: digestOf(body) });
    }
  } catch {
    await ctx.store.schedule(member, now + ctx.timings.retryMs, 'SET');
    return;
  }
  await ctx.store.finish(member, ctx.store.storms.key(envName), st.version, now + ctx.timings.stormEditMs);
}
