/**
 * Cancellation across replicas: the record's `cancelRequestedBy` is the durable flag (the runner
 * checks it at every safe point); this Redis pub/sub channel only makes a running step notice
 * sooner, by aborting the job's signal on whichever replica runs it.
 */
import type { Redis } from 'ioredis';

export interface CancelBus {
  publish(operationId: string): Promise<void>;
  close(): Promise<void>;
}

export async function createCancelBus(publisher: Redis, subscriber: Redis, prefix: string, onCancel: (operationId: string) => void): Promise<CancelBus> {
  const channel = `${prefix}:cancel`;
  subscriber.on('message', (ch: string, message: string) => { if (ch === channel) onCancel(message); });
  await subscriber.subscribe(channel);
  return {
    async publish(operationId) { await publisher.publish(channel, operationId); },
    async close() {
      try { await subscriber.unsubscribe(channel); } catch { /* closing anyway */ }
    },
  };
}
