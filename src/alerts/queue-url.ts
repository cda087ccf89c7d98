/**
 * Where an `alerts.queues` URL lives. The SDK sends every request to the host inside the queue URL
 * (`useQueueUrlAsEndpoint`), so the client's region only matters for signing: it is taken from an
 * AWS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`, or the legacy
 * `<region>.queue.amazonaws.com`); any other http(s) URL (a local SQS) signs with `fallbackRegion`.
 */
export interface QueueLocation { region: string; account: string | undefined; name: string | undefined }

export function queueLocation(url: string, fallbackRegion = 'us-east-1'): QueueLocation {
  const u = new URL(url);
  const aws = /^sqs[.-]([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(u.hostname)
    ?? /^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(u.hostname);
  const [, account, name] = /^\/(\d{12})\/([^/]+)\/?$/.exec(u.pathname) ?? [];
  return { region: aws?.[1] ?? fallbackRegion, account, name };
}
