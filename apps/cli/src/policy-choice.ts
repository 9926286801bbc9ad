import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { builtinPolicies, type Policy, parsePolicy } from '@brine/rules';
import { UsageError } from './io.js';

/** Names `--policy` accepts besides a file path. */
export const BUILTIN_POLICY_NAMES = Object.keys(builtinPolicies) as Array<keyof typeof builtinPolicies>;

/**
 * Resolves `--policy` (a built-in name or a JSON policy file) and `--fail-on`. A bad policy is a
 * usage error: scanning under a policy other than the one asked for would give a misleading verdict.
 */
export async function choosePolicy(spec: string, failOn: string | undefined): Promise<Policy> {
  let policy: Policy;
  if (Object.hasOwn(builtinPolicies, spec)) {
    policy = structuredClone(builtinPolicies[spec as keyof typeof builtinPolicies]);
  } else {
    let text: string;
    try {
      text = await readFile(spec, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(
        `--policy ${spec}: not a built-in policy (${BUILTIN_POLICY_NAMES.join(', ')}) and not a readable file (${code ?? e})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UsageError(
        `--policy ${spec}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    try {
      policy = parsePolicy(json);
    } catch (e) {
      throw new UsageError(`--policy ${spec}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!(typeof json === 'object' && json !== null && 'name' in json)) policy.name = basename(spec);
  }
  if (failOn !== undefined) {
    if (failOn !== 'dangerous' && failOn !== 'suspicious') {
      throw new UsageError(`--fail-on must be "dangerous" or "suspicious", not "${failOn}"`);
    }
    policy.failOn = failOn;
  }
  return policy;
}
