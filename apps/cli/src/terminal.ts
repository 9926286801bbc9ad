/**
 * Should output to this stream be coloured? `NO_COLOR` (any non-empty value) wins, then
 * `FORCE_COLOR` (anything but `0`/`false`), then "is it a terminal". picocolors' own check also
 * turns colour on whenever `CI` is set, which would put escapes into piped JSON-adjacent logs.
 */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}
