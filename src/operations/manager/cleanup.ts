/** Helpers for the cleanup of a failed or cancelled manager operation. */
import type { CleanupContext } from '../framework/types';

/**
 * The cleanup runs after a cancellation, when the operation's signal is already aborted: it gets a
 * fresh signal, or every AWS call it makes would be aborted before it starts.
 */
export function cleanupContext(ctx: CleanupContext): CleanupContext {
  return { ...ctx, signal: new AbortController().signal };
}

/** One thread reply listing what the cleanup did (or that there was nothing to undo). */
export async function reportCleanup(ctx: CleanupContext, lines: readonly string[], after: string): Promise<void> {
  if (lines.length === 0) {
    await ctx.note('Nothing to undo: this operation had not created anything yet.');
    return;
  }
  await ctx.note(`Undone:\n${lines.map((l) => `• ${l}`).join('\n')}\n${after}`);
}
