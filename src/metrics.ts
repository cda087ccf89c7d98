/**
 * Prometheus metrics (GET /metrics). One registry per bot instance (not prom-client's global),
 * so tests can run several bots in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  commands: Counter<'verb' | 'outcome'>;
  operations: Counter<'verb' | 'outcome'>;
  operationDuration: Histogram<'verb'>;
  queueDepth: Gauge<'env' | 'state'>;
  slackApiErrors: Counter<'method'>;
  /** Spot events by type and outcome (posted, summarized, quiet, duplicate, foreign, malformed, ignored). */
  spotEvents: Counter<'type' | 'outcome'>;
  /** Spot alert queue errors by stage (receive, handle, delete). */
  alertQueueErrors: Counter<'stage'>;
}

export function createMetrics(queueDepth?: () => Promise<Array<{ env: string; waiting: number; active: number; delayed: number }>>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'runner_ops_' });
  const depth = new Gauge({
    name: 'runner_ops_queue_depth',
    help: 'Operations in each environment queue, by state',
    labelNames: ['env', 'state'] as const,
    registers: [registry],
    async collect() {
      if (queueDepth === undefined) return;
      try {
        for (const d of await queueDepth()) {
          this.set({ env: d.env, state: 'waiting' }, d.waiting);
          this.set({ env: d.env, state: 'active' }, d.active);
          this.set({ env: d.env, state: 'delayed' }, d.delayed);
        }
      } catch { /* Redis away: /healthz says so; keep the last values */ }
    },
  });
  return {
    registry,
    commands: new Counter({ name: 'runner_ops_commands_total', help: 'Slash commands by verb and outcome', labelNames: ['verb', 'outcome'] as const, registers: [registry] }),
    operations: new Counter({ name: 'runner_ops_operations_total', help: 'Finished operations by verb and outcome', labelNames: ['verb', 'outcome'] as const, registers: [registry] }),
    operationDuration: new Histogram({ name: 'runner_ops_operation_duration_seconds', help: 'Operation run time by verb', labelNames: ['verb'] as const, buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600], registers: [registry] }),
    queueDepth: depth,
    slackApiErrors: new Counter({ name: 'runner_ops_slack_api_errors_total', help: 'Slack Web API calls that failed, by method', labelNames: ['method'] as const, registers: [registry] }),
    spotEvents: new Counter({ name: 'runner_ops_spot_events_total', help: 'Spot events from the alert queues, by event type and outcome', labelNames: ['type', 'outcome'] as const, registers: [registry] }),
    alertQueueErrors: new Counter({ name: 'runner_ops_alert_queue_errors_total', help: 'Spot alert queue errors, by stage (receive, handle, delete)', labelNames: ['stage'] as const, registers: [registry] }),
  };
}
