/**
 * Small pure formatters for progress lines in Slack threads (and anywhere else a person reads
 * progress). No SDK imports, no clock: callers pass numbers.
 */

const FILLED = '▰';
const EMPTY = '▱';

/**
 * `progressBar(3, 6)` is `▰▰▰▱▱▱ 3/6`. `done` is clamped to [0, total]; the bar shows full only
 * when everything is done (cells are rounded down), so a nearly finished operation never looks
 * finished. `total <= 0` gives an empty bar.
 */
export function progressBar(done: number, total: number, width = 6): string {
  const cells = Math.max(1, Math.floor(Number.isFinite(width) ? width : 6));
  const t = Number.isFinite(total) ? Math.max(0, Math.floor(total)) : 0;
  const d = Number.isFinite(done) ? Math.min(t, Math.max(0, Math.floor(done))) : 0;
  const filled = t === 0 ? 0 : d === t ? cells : Math.min(cells - 1, Math.floor((d / t) * cells));
  return `${FILLED.repeat(filled)}${EMPTY.repeat(cells - filled)} ${d}/${t}`;
}

/**
 * A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 07 min`. Negative or non-finite
 * input counts as 0.
 */
export function formatDuration(ms: number): string {
  const v = Number.isFinite(ms) ? Math.max(0, ms) : 0;
  if (v < 999.5) return `${Math.round(v)} ms`;
  if (v < 59_950) return `${(v / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(v / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${m} min ${String(s).padStart(2, '0')} s`;
  }
  const totalMinutes = Math.round(v / 60_000);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${h} h ${String(m).padStart(2, '0')} min`;
}
