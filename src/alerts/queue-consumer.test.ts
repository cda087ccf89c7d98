import 'aws-sdk-client-mock-jest';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import pino from 'pino';
import { QueueConsumer, type MessageVerdict, type QueueMessage } from './queue-consumer';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/runner-ops-events';
const log = pino({ level: 'silent' });

describe('QueueConsumer', () => {
  beforeEach(() => { sqsMock.reset(); });
  afterAll(() => { sqsMock.restore(); });

  it('backs off on errors up to the cap, then deletes exactly the messages its handler let go', async () => {
    const error = Object.assign(new Error('boom'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const seen: QueueMessage[] = [];
    const errors: string[] = [];
    let receives = 0;
    sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      receives += 1;
      if (receives <= 4) throw error;
      if (receives === 5) {
        return { Messages: [
          { MessageId: 'm1', ReceiptHandle: 'r1', Body: 'ok', Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1700000000000' } },
          { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'retry' },
          { MessageId: 'm3', ReceiptHandle: 'r3', Body: 'throw' },
        ] };
      }
      await new Promise((r) => setTimeout(r, 20));
      return {}; // an empty receive has no Messages key
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    let batches = 0;
    const consumer = new QueueConsumer({
      sqs, queueUrl: QUEUE, log, minBackoffMs: 10, maxBackoffMs: 40,
      onError: (stage) => errors.push(stage),
      afterBatch: () => { batches += 1; },
      handle: async (m): Promise<MessageVerdict> => {
        seen.push(m);
        if (m.body === 'throw') throw new Error('redis away');
        return m.body === 'ok' ? 'delete' : 'retry';
      },
    });
    expect(consumer.backoffMs(1)).toBeLessThanOrEqual(10);
    expect(consumer.backoffMs(30)).toBeLessThanOrEqual(40);
    expect(consumer.backoffMs(30)).toBeGreaterThanOrEqual(20);
    consumer.start();
    while (batches === 0) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();

    expect(errors).toEqual(['receive', 'receive', 'receive', 'receive', 'handle']);
    expect(seen.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
    expect(seen[0]).toMatchObject({ receiveCount: 3, sentAt: 1700000000000 });
    expect(sqsMock).toHaveReceivedCommandTimes(DeleteMessageBatchCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageBatchCommand, { QueueUrl: QUEUE, Entries: [{ Id: '0', ReceiptHandle: 'r1' }] });
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, { QueueUrl: QUEUE, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 });
  });
});
