import type { InnerPath } from '@brine/core';

/** How an import is classified (see README "Verdict model"). */
export type ImportTier = 'safe' | 'known' | 'dangerous' | 'unknown';

/** The verdict of one file. `unscannable` means brine could not read all of it: never clean. */
export type Verdict = 'clean' | 'suspicious' | 'dangerous' | 'unscannable';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** A documented rule: feeds `brine rules`, `brine explain`, and SARIF `tool.driver.rules`. */
export interface RuleDoc {
  /** Stable id, e.g. `BRINE-PKL-001`. */
  id: string;
  /** Short kebab-case name, e.g. `dangerous-import`. */
  name: string;
  title: string;
  severity: Severity;
  /** One paragraph: how the attack works. */
  explanation: string;
  /** What to do: convert to safetensors, load with weights_only=True, verify the source... */
  remediation: string;
  /** Advisory ids and links. */
  references: string[];
  tags: string[];
}

/** One import with its tier and, when dangerous, the family it belongs to. */
export interface ClassifiedImport {
  module: string;
  name: string;
  tier: ImportTier;
  /** e.g. `command-execution`, `code-evaluation`, `nested-deserialisation`, `gadget-surface`. */
  family?: string;
  path: InnerPath;
  offset: number;
  opcode: string;
  called: boolean;
}

/** Something a rule found, with the evidence to show. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  /** What this finding alone makes of the file under the policy in force. */
  verdict: 'dangerous' | 'suspicious' | 'info';
  /** Does this finding fail the policy (exit code 1)? */
  fails: boolean;
  message: string;
  path: InnerPath;
  offset?: number;
  length?: number;
  /**
   * Offset of the finding in the outermost file, when its stream is stored there uncompressed
   * (`StreamScan.fileOffset + offset`). SARIF uses it for `region.byteOffset`.
   */
  fileOffset?: number;
  opcode?: string;
  /** `module.name` when the finding is about an import. */
  symbol?: string;
  /** Rendered call, e.g. `os.system('touch /tmp/x')`. */
  call?: string;
  /** Set when a waiver in the policy matched: the finding is kept but does not fail. */
  waived?: { reason: string };
}

/** The result of applying a policy to one scanned file. */
export interface FileReport {
  file: string;
  size: number;
  format: string;
  verdict: Verdict;
  /** Why the verdict is what it is, one line each. */
  reasons: string[];
  findings: Finding[];
  imports: ClassifiedImport[];
  /** Problems that stopped part of the file from being scanned. */
  problems: Array<{ code: string; message: string; path: InnerPath; offset?: number }>;
  stats: { bytesRead: number; durationMs: number; pickles: number; opcodes: number };
  /** Does this file fail the policy? */
  fails: boolean;
  /** Name of the policy applied (`default`, `strict`, `weights-only` or a policy file's name). */
  policy?: string;
  /** `RULESET_VERSION` of the rules that produced this report (cache key together with the file hash). */
  rulesetVersion?: string;
}
