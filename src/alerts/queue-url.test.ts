import { queueLocation } from './queue-url';
import { parseJobValue } from './render-jobs';

describe('queueLocation', () => {
  it.each([
    ['https://sqs.eu-central-1.amazonaws.com/123456789012/runner-ops-events', 'eu-central-1', '123456789012', 'runner-ops-events'],
    ['https://eu-west-1.queue.amazonaws.com/123456789012/q', 'eu-west-1', '123456789012', 'q'],
    ['https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q', 'cn-north-1', '123456789012', 'q'],
    ['http://127.0.0.1:4566/000000000000/local', 'us-east-1', '000000000000', 'local'],
    ['http://localhost:9324/queue/q', 'us-east-1', undefined, undefined],
  ])('%s', (url, region, account, name) => {
    expect(queueLocation(url)).toEqual({ region, account, name });
  });
});

describe('parseJobValue', () => {
  it.each([
    ['55:901', { projectId: 55, jobId: 901 }],
    ['0:1', undefined],
    ['55:', undefined],
    ['55:901:1', undefined],
    ['a:b', undefined],
  ])('%s', (value, expected) => { expect(parseJobValue(value)).toEqual(expected); });
});
