/**
 * The `/runner` slash command. Contract of the ack path: parse (pure), then ack within Slack's
 * three seconds with no AWS, GitLab, Redis or Web API call before it. Answers that need nothing
 * else (help, usage errors, unknown environments) travel in the ack itself; everything else is
 * answered afterwards through response_url, ephemerally. A dry run's parts too long for a message
 * are uploaded as files into the requester's DM with the bot (plan-files.ts), also after the ack.
 */
import type { App, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { FleetConfig } from '../../../config/fleet-schema';
import { type Command, parseCommand } from '../../../domain/command';
import { isRunnerOpsError, userMessage } from '../../../domain/errors';
import { helpText } from '../../../domain/help-text';
import { approvalRequired, canRequest } from '../../../domain/policy';
import type { Metrics } from '../../../metrics';
import type { Answer, OperationService } from '../../../operations/service';
import { redisUnavailableAsError } from '../../../store/redis';
import { escapeMrkdwn } from '../blocks';
import { answersAfterUpload, uploadPlanFiles } from '../plan-files';

export interface CommandDeps {
  fleet: () => FleetConfig;
  service: OperationService;
  status: (envName: string) => Promise<Answer>;
  history: (envName: string | undefined) => Promise<Answer>;
  metrics: Metrics;
  log: Logger;
}

/** Slack allows five uses of a response_url. */
const MAX_RESPONSES = 5;

function envOf(command: Command): string | undefined {
  return 'env' in command ? command.env : undefined;
}

/**
 * The one rendering of a failed request for the person who asked. Redis being away (ioredis's
 * own errors) reads as 'unavailable', "nothing was queued": an error that reaches here came
 * before anything was recorded (the service answers for itself when Redis goes away after an
 * operation's record was written, see OperationService.submit).
 */
export function failureAnswer(failure: unknown): Answer {
  const err = redisUnavailableAsError(failure);
  if (isRunnerOpsError(err) && (err.code === 'unavailable' || err.code === 'timeout')) {
    return { text: `:warning: ${userMessage(err)}. Nothing was queued or changed; try again in a moment.` };
  }
  if (isRunnerOpsError(err)) return { text: `:warning: ${userMessage(err)}` };
  return { text: ':warning: Something went wrong on our side (see the bot logs). Nothing was queued or changed.' };
}

async function sendAll(respond: RespondFn, answers: readonly Answer[]): Promise<void> {
  const sendable = answers.slice(0, MAX_RESPONSES);
  for (const [i, a] of sendable.entries()) {
    const last = i === sendable.length - 1 && answers.length > sendable.length;
    const text = last ? `${a.text}\n_(${answers.length - sendable.length} more parts not shown: use \`npx runner-ops render\` for the full artifacts.)_` : a.text;
    await respond({ response_type: 'ephemeral', replace_original: false, text, ...(a.blocks === undefined || last ? {} : { blocks: a.blocks }) });
  }
}

export function registerCommand(app: App, deps: CommandDeps): void {
  app.command('/runner', async ({ command, ack, respond, client, context }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) {
      deps.metrics.commands.inc({ verb: 'invalid', outcome: 'usage_error' });
      await ack({ response_type: 'ephemeral', text: parsed.error });
      return;
    }
    const cmd = parsed.command;
    const fleet = deps.fleet();
    if (cmd.verb === 'help') {
      deps.metrics.commands.inc({ verb: 'help', outcome: 'ok' });
      const environments = Object.entries(fleet.environments).map(([name, env]) => ({
        name, mayRequest: canRequest(env, command.user_id), approvalRequired: approvalRequired(env, 'bootstrap'),
      }));
      await ack({ response_type: 'ephemeral', text: helpText({ environments }) });
      return;
    }
    const envName = envOf(cmd);
    if (envName !== undefined && fleet.environments[envName] === undefined) {
      deps.metrics.commands.inc({ verb: cmd.verb, outcome: 'unknown_env' });
      const known = Object.keys(fleet.environments).map((n) => `\`${n}\``).join(', ');
      await ack({ response_type: 'ephemeral', text: `There is no environment \`${escapeMrkdwn(envName)}\`. Known: ${known}.` });
      return;
    }
    await ack();

    const log = deps.log.child({ user: command.user_id, verb: cmd.verb });
    let answers: Answer[];
    let outcome = 'ok';
    try {
      switch (cmd.verb) {
        case 'status': answers = [await deps.status(cmd.env)]; break;
        case 'history': answers = [await deps.history(cmd.env)]; break;
        case 'cancel': answers = [await deps.service.cancel({ userId: command.user_id, operationId: cmd.operationId })]; break;
        default: answers = await deps.service.request({ userId: command.user_id, channelId: command.channel_id, command: cmd }); break;
      }
    } catch (failure) {
      const err = redisUnavailableAsError(failure);
      outcome = isRunnerOpsError(err) ? err.code : 'error';
      log.warn({ err: userMessage(err), code: isRunnerOpsError(err) ? err.code : undefined }, 'command failed');
      answers = [failureAnswer(err)];
    }
    deps.metrics.commands.inc({ verb: cmd.verb, outcome });
    const files = answers.find((a) => a.files !== undefined)?.files;
    if (files !== undefined) {
      const upload = await uploadPlanFiles(client, command.user_id, files);
      if (!upload.ok) log.warn({ reason: upload.reason }, 'could not upload the plan files; answering inline');
      answers = answersAfterUpload(answers, upload, context.botUserId);
    }
    try {
      await sendAll(respond, answers);
    } catch (err) {
      log.warn({ err: userMessage(err) }, 'could not answer through response_url');
    }
  });
}
