import { type AppDeps, createApp } from './app.js';
import { configFromEnv } from './config.js';
import wasm from './generated/scanner.wasm';

/** Bindings from `wrangler.jsonc` vars and secrets (`BRINE_TOKEN` is a secret). */
export type WorkerEnv = Record<string, unknown>;

let cached: { env: WorkerEnv; app: ReturnType<typeof createApp> } | undefined;

/** Builds the app once per isolate (per distinct env object), with the imported scanner module. */
function appFor(env: WorkerEnv) {
  if (cached?.env !== env) {
    const quiet = env.BRINE_LOG === 'off';
    const deps: AppDeps = {
      ...configFromEnv(env),
      wasm,
      ...(quiet ? {} : { log: (entry) => console.log(JSON.stringify(entry)) }),
    };
    cached = { env, app: createApp(deps) };
  }
  return cached.app;
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    return appFor(env).fetch(request, env, ctx as never);
  },
};
