export { type AppDeps, createApp, type RawBody, type RequestLogEntry, ROUTES } from './app.js';
export { configFromEnv, type EnvConfig } from './config.js';
export { type Engine, type ReportFormat, WORKER_VERSION } from './engine.js';
export { ApiError, ERROR_STATUS, type ErrorBody, type ErrorCode } from './errors.js';
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './limits.js';
export { openApiDocument } from './openapi.js';
export { checkUrl, ipKind, type ResolveHost, type UrlPolicy } from './url-policy.js';
