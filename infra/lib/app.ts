/**
 * Builds every stack from one infra config. bin/app.ts calls this and synthesizes; the tests call
 * it with their own config and read the templates through aws-cdk-lib/assertions.
 *
 * Stacks:
 * - RunnerOpsBot: the bot role and policy, fleet roles of the bot account's environments.
 * - RunnerOpsAccount-<account>: per other account, the `runner-ops` role and its fleet roles.
 * - RunnerOpsEvents-<account>-<region>: per account and region with environments, Spot events.
 * - RunnerOpsRuntime (optional): the bot on Fargate with ElastiCache.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Annotations, App, DefaultStackSynthesizer, type Environment, type Stack } from 'aws-cdk-lib';
import type { InfraConfig } from './config';
import { Arns, BOT_ROLE_NAME } from './naming';
import { AccountStack } from './stacks/account-stack';
import { BotStack, eventLocations, foreignAccounts } from './stacks/bot-stack';
import { EventsStack } from './stacks/events-stack';
import { RuntimeStack } from './stacks/runtime-stack';

export interface BuildOptions {
  /** Where the cloud assembly goes; default: the CDK CLI's CDK_OUTDIR, else infra/cdk.out. */
  outdir?: string;
  /** The repository root (runtime.fleetFile is relative to it). */
  repoRoot: string;
  /** Say in every stack's metadata that the example config built it. */
  exampleConfig?: boolean;
}

export interface BuiltApp {
  app: App;
  bot: BotStack;
  accounts: AccountStack[];
  events: EventsStack[];
  runtime?: RuntimeStack;
}

function env(account: string | undefined, region: string): Environment {
  return account !== undefined ? { account, region } : { region };
}

/**
 * No bootstrap-version rule: the templates have no assets, so they also deploy by uploading them to
 * CloudFormation directly, in accounts that were never `cdk bootstrap`ped.
 */
const synthesizer = () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false });

export function buildApp(cfg: InfraConfig, opts: BuildOptions): BuiltApp {
  const app = new App({
    outdir: opts.outdir ?? process.env.CDK_OUTDIR ?? resolve(opts.repoRoot, 'infra', 'cdk.out'),
    // The CDK's built-in CloudFormation checks (schema, best practice) fail synth instead of warning.
    context: { '@aws-cdk/core:validateAgainstDefaultRules': true },
  });
  const description = (what: string) => `runner-ops: ${what} (infra/)`;

  const bot = new BotStack(app, 'RunnerOpsBot', {
    env: env(cfg.bot.account, cfg.bot.region),
    synthesizer: synthesizer(),
    description: description('the bot role and policy, fleet roles of the bot account'),
    config: cfg,
  });
  const stacks: Stack[] = [bot];

  const accounts = foreignAccounts(cfg).map((account) => {
    const region = Object.values(cfg.environments).find((e) => e.account === account)?.region ?? cfg.bot.region;
    // bot.account is set whenever other accounts exist (config.ts refuses the rest).
    const stack = new AccountStack(app, `RunnerOpsAccount-${account}`, {
      env: { account, region },
      synthesizer: synthesizer(),
      description: description(`the role the bot assumes in account ${account}, fleet roles`),
      config: cfg,
      account,
      botAccount: cfg.bot.account ?? '',
    });
    stacks.push(stack);
    return stack;
  });

  const events = eventLocations(cfg).map(({ account, region }) => {
    const foreign = account !== undefined && account !== cfg.bot.account;
    const stack = new EventsStack(app, `RunnerOpsEvents-${account !== undefined ? `${account}-` : ''}${region}`, {
      env: env(account, region),
      synthesizer: synthesizer(),
      description: description(`Spot events of ${region} -> SQS`),
      ...(foreign ? { consumerArns: [new Arns(cfg.partition, cfg.bot.account ?? '').role(BOT_ROLE_NAME)] } : {}),
    });
    stacks.push(stack);
    return stack;
  });

  let runtime: RuntimeStack | undefined;
  if (cfg.runtime !== undefined) {
    runtime = new RuntimeStack(app, 'RunnerOpsRuntime', {
      env: env(cfg.bot.account, cfg.bot.region),
      synthesizer: synthesizer(),
      description: description('optional: the bot on ECS Fargate with ElastiCache'),
      runtime: cfg.runtime,
      partition: cfg.partition,
      fleetFileText: readFileSync(resolve(opts.repoRoot, cfg.runtime.fleetFile), 'utf8'),
    });
    runtime.addStackDependency(bot, 'the task role is the bot role');
    stacks.push(runtime);
  }

  if (opts.exampleConfig === true) {
    for (const stack of stacks) {
      Annotations.of(stack).addWarningV2('runner-ops:example-config', 'synthesized from infra/config.example.json: copy it to infra/config.json with your accounts before deploying');
    }
  }
  return { app, bot, accounts, events, ...(runtime !== undefined ? { runtime } : {}) };
}
