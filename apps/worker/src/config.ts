import type { AppDeps } from './app.js';
import type { Limits } from './limits.js';

/** Settings both runtimes read from their environment (Workers vars/secrets, Node `process.env`). */
export type EnvConfig = Pick<AppDeps, 'token' | 'limits' | 'urlPolicy' | 'hubBaseUrl'>;

const LIMIT_VARS: Record<string, keyof Limits> = {
  BRINE_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  BRINE_MAX_BUFFERED_BYTES: 'maxBufferedBytes',
  BRINE_TIME_BUDGET_MS: 'timeBudgetMs',
  BRINE_MAX_CONCURRENT_SCANS: 'maxConcurrentScans',
  BRINE_MAX_REMOTE_BYTES: 'maxRemoteBytes',
  BRINE_MAX_REDIRECTS: 'maxRedirects',
  BRINE_MAX_REMOTE_FILES: 'maxRemoteFiles',
  BRINE_MAX_CONVERT_BYTES: 'maxConvertBytes',
  BRINE_SCAN_CPU_MS: 'scanCpuMs',
  BRINE_UPLOAD_IDLE_MS: 'uploadIdleMs',
  BRINE_MIN_UPLOAD_BYTES_PER_SECOND: 'minUploadBytesPerSecond',
};

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/**
 * Reads `BRINE_TOKEN`, `BRINE_ALLOW_HOSTS`, `BRINE_TRUSTED_HOSTS` (comma lists), `BRINE_HUB_URL` and the
 * `BRINE_MAX_*` / `BRINE_TIME_BUDGET_MS` limits. A limit that is not a positive number is an error at
 * start-up rather than a silently ignored setting.
 */
export function configFromEnv(env: Record<string, unknown>): EnvConfig {
  const str = (k: string) => (typeof env[k] === 'string' ? (env[k] as string) : undefined);
  const limits: Partial<Limits> = {};
  for (const [name, key] of Object.entries(LIMIT_VARS)) {
    const raw = str(name);
    if (raw === undefined || raw.trim() === '') continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number, got ${raw}`);
    limits[key] = n;
  }
  const token = str('BRINE_TOKEN')?.trim();
  const hub = str('BRINE_HUB_URL')?.trim();
  return {
    ...(token ? { token } : {}),
    limits,
    urlPolicy: { allowHosts: list(str('BRINE_ALLOW_HOSTS')), trustedHosts: list(str('BRINE_TRUSTED_HOSTS')) },
    ...(hub ? { hubBaseUrl: hub } : {}),
  };
}
