import { loadScannerModule } from '@brine/core';
import { type AppDeps, createApp } from './app.js';
import { configFromEnv } from './config.js';
import wasm from './generated/scanner.wasm';
import { createHubConsumer, type HubConsumer } from './hub/consumer.js';
import { defaultJudge } from './hub/judge.js';
import type { HubDelivery, HubQueue } from './hub/messages.js';
import type { HubBindings } from './hub/routes.js';
import type { SqlDatabase } from './hub/sql.js';

/** Bindings from `wrangler.jsonc` vars and secrets (`BRINE_TOKEN` is a secret). */
export type WorkerEnv = Record<string, unknown>;

let cached: { env: WorkerEnv; app: ReturnType<typeof createApp> } | undefined;
let consumer: { env: WorkerEnv; hub: HubConsumer } | undefined;

const str = (env: WorkerEnv, k: string) =>
  (typeof env[k] === 'string' ? (env[k] as string).trim() : '') || undefined;

/** The Hub scans read from: `HF_ENDPOINT` (as the CLI's hf://), else `BRINE_HUB_URL`, else the public Hub. */
function hubEndpoint(env: WorkerEnv): string {
  return str(env, 'HF_ENDPOINT') ?? str(env, 'BRINE_HUB_URL') ?? 'https://huggingface.co';
}

function hubBindings(env: WorkerEnv): HubBindings | undefined {
  if (!env.HUB_DB || !env.HUB_QUEUE) return undefined;
  const judge = defaultJudge();
  const secret = str(env, 'HUB_WEBHOOK_SECRET');
  return {
    db: env.HUB_DB as SqlDatabase,
    queue: env.HUB_QUEUE as HubQueue,
    ...(secret ? { webhookSecret: secret } : {}),
    versions: { readStamp: judge.readStamp, rulesVersion: judge.rulesVersion },
  };
}

/** Builds the app once per isolate (per distinct env object), with the imported scanner module. */
function appFor(env: WorkerEnv) {
  if (cached?.env !== env) {
    const quiet = env.BRINE_LOG === 'off';
    const hub = hubBindings(env);
    const deps: AppDeps = {
      ...configFromEnv(env),
      wasm,
      ...(hub ? { hub } : {}),
      ...(quiet ? {} : { log: (entry) => console.log(JSON.stringify(entry)) }),
    };
    cached = { env, app: createApp(deps) };
  }
  return cached.app;
}

function consumerFor(env: WorkerEnv): HubConsumer {
  if (consumer?.env !== env) {
    const token = str(env, 'HF_TOKEN');
    const quiet = env.BRINE_LOG === 'off';
    consumer = {
      env,
      hub: createHubConsumer({
        db: env.HUB_DB as SqlDatabase,
        queue: env.HUB_QUEUE as HubQueue,
        fetch: (input, init) => fetch(input, init),
        hubBaseUrl: hubEndpoint(env),
        ...(token ? { hubToken: token } : {}),
        judge: defaultJudge(),
        ...(quiet ? {} : { log: (line) => console.log(JSON.stringify(line)) }),
      }),
    };
  }
  return consumer.hub;
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    return appFor(env).fetch(request, env, ctx as never);
  },
  /** Hub queue consumer: the main queue, and its dead-letter queue (name ending in `-dlq`). */
  async queue(batch: { queue: string; messages: readonly HubDelivery[] }, env: WorkerEnv): Promise<void> {
    await loadScannerModule(wasm);
    const hub = consumerFor(env);
    if (batch.queue.endsWith('-dlq')) await hub.handleDeadLetters(batch.messages);
    else await hub.handleBatch(batch.messages);
  },
};
