#!/usr/bin/env node
// Loaded dynamically so that a broken install (a missing module) exits 2, "could not scan", and
// never 1, which CI reads as "a finding fails the policy".
let code: number;
try {
  const { main } = await import('./program.js');
  // exitCode rather than process.exit(): a report piped to another program is flushed first.
  code = await main(process.argv);
} catch (e) {
  process.stderr.write(`brine: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
  code = 2;
}
process.exitCode = code;
// After Ctrl-C an abandoned read (a stalled HTTP request) may still hold the event loop; the report
// is written by now, so do not wait for it. unref: a normal run exits before this ever fires.
setTimeout(() => process.exit(code), 2000).unref();
