/** The local SQS (real HTTP, AWS JSON 1.0) lives in bench/ so `npm run bench` can use it too. */
export { SqsFake, type FakeSqsMessage } from '../../bench/sqs-fake';
