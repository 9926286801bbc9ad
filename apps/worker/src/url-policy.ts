import { ApiError } from './errors.js';

/**
 * Which remote URLs `scan-url` may fetch. The endpoint fetches on a caller's behalf, so without these
 * rules it would be a proxy into whatever network the server sits in (SSRF).
 */
export interface UrlPolicy {
  /**
   * When non-empty, only these hosts may be fetched (exact names, or `*.example.com` for subdomains).
   * Empty: any public host.
   */
  allowHosts: string[];
  /**
   * Hosts exempt from the https-only rule, the default-port rule and the private-address rule (exact
   * names or IP literals, e.g. `127.0.0.1` for tests or an internal mirror). Still subject to `allowHosts`.
   */
  trustedHosts: string[];
}

/** Resolves a host name to its addresses (Node: `dns.lookup`); absent on Workers, whose fetch never reaches private networks. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** Why a URL was refused, as the `details.reason` of the 403 `url-refused` error. */
export type RefusalReason =
  | 'scheme'
  | 'credentials'
  | 'host-not-allowed'
  | 'private-address'
  | 'port'
  | 'local-name';

function refuse(reason: RefusalReason, message: string): never {
  throw new ApiError('url-refused', message, { reason });
}

function hostMatches(host: string, pattern: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

/** The host as the URL parser normalised it, without IPv6 brackets (`[::1]` → `::1`). */
function bareHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * Checks a URL against the policy before any connection is made, and again for every redirect hop.
 * Throws `ApiError('url-refused')` (403) or `ApiError('bad-url')` (400). Returns the parsed URL.
 */
export async function checkUrl(raw: string, policy: UrlPolicy, resolveHost?: ResolveHost): Promise<URL> {
  return (await checkUrlResolved(raw, policy, resolveHost)).url;
}

/** A URL that passed the policy, with the addresses its name resolved to when it was resolved. */
export interface CheckedUrl {
  url: URL;
  /** Every address the check saw and found public; a connection must go to one of these. */
  addresses?: string[];
}

/**
 * {@link checkUrl}, also returning the addresses that were checked, so the caller can connect to
 * one of them instead of letting its HTTP client resolve the name again (which a DNS server
 * answering differently the second time, "DNS rebinding", would point at a private address).
 */
export async function checkUrlResolved(
  raw: string,
  policy: UrlPolicy,
  resolveHost?: ResolveHost,
): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('bad-url', 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    refuse('scheme', `scheme ${url.protocol} is not fetched`);
  // Credentials in a URL would be sent to the remote host (and to every redirect target): refuse
  // rather than silently strip, so the caller learns they were never used.
  if (url.username || url.password) refuse('credentials', 'URLs with credentials are refused');

  const host = bareHost(url);
  const trusted = policy.trustedHosts.some((p) => hostMatches(host, p));
  if (policy.allowHosts.length > 0 && !trusted && !policy.allowHosts.some((p) => hostMatches(host, p))) {
    refuse('host-not-allowed', `host ${host} is not in the allowlist`);
  }
  if (trusted) return { url };

  if (url.protocol !== 'https:')
    refuse('scheme', `plain http is allowed only for trusted hosts, not ${host}`);
  if (url.port !== '' && url.port !== '443')
    refuse('port', `port ${url.port} is allowed only for trusted hosts`);

  const literal = ipKind(host);
  if (literal === 'private') refuse('private-address', `${host} is not a public address`);
  if (literal === 'public') return { url };

  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || !host.includes('.')) {
    refuse('local-name', `${host} names a local host`);
  }
  if (resolveHost) {
    let addresses: string[];
    try {
      addresses = await resolveHost(host);
    } catch {
      throw new ApiError('upstream-error', `cannot resolve ${host}`);
    }
    // One private answer is enough to refuse: the connection may pick any of them.
    if (addresses.length === 0 || addresses.some((a) => ipKind(a) !== 'public')) {
      refuse('private-address', `${host} resolves to a non-public address`);
    }
    return { url, addresses };
  }
  return { url };
}

/** Classifies a host: an IP literal that is public, one that is not, or not an IP literal at all. */
export function ipKind(host: string): 'public' | 'private' | 'name' {
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return isPublicV4(v4) ? 'public' : 'private';
  const v6 = parseIPv6(host);
  if (v6 !== undefined) return isPublicV6(v6) ? 'public' : 'private';
  return 'name';
}

/** Dotted-quad only: the WHATWG URL parser already turned `0x7f.1` or `2130706433` into one. */
function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const b = Number(part);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

const V4_BLOCKED: Array<[number, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
].map(([a, bits]) => [parseIPv4(a as string) as number, bits as number]);

function isPublicV4(ip: number): boolean {
  for (const [base, bits] of V4_BLOCKED) {
    const size = 2 ** (32 - bits);
    if (ip >= base && ip < base + size) return false;
  }
  return true;
}

/** Parses an IPv6 literal (with optional embedded IPv4 tail and zone) into 8 16-bit groups. */
function parseIPv6(s: string): number[] | undefined {
  if (!s.includes(':')) return undefined;
  let text = s.split('%')[0] as string;
  const groups: number[] = [];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let v4tail: number[] = [];
  if (tail) {
    const v4 = parseIPv4(tail[1] as string);
    if (v4 === undefined) return undefined;
    v4tail = [Math.floor(v4 / 65536), v4 % 65536];
    text = `${text.slice(0, -(tail[1] as string).length)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  for (const g of [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest]) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    groups.push(Number.parseInt(g, 16));
  }
  if (v4tail.length) groups.splice(6, 2, ...v4tail);
  return groups;
}

function isPublicV6(g: number[]): boolean {
  const [a = 0, b = 0] = g;
  const v4At = (i: number) => (g[i] as number) * 65536 + (g[i + 1] as number);
  if (g.every((x) => x === 0)) return false; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return false; // ::1
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return isPublicV4(v4At(6)); // ::ffff:a.b.c.d
  if (g.slice(0, 6).every((x) => x === 0)) return false; // deprecated IPv4-compatible
  if (a === 0x64 && b === 0xff9b) return isPublicV4(v4At(6)); // NAT64
  if (a === 0x2002) return isPublicV4(v4At(1)); // 6to4 carries an IPv4 address
  if ((a & 0xfe00) === 0xfc00) return false; // unique local
  if ((a & 0xffc0) === 0xfe80) return false; // link-local
  if ((a & 0xff00) === 0xff00) return false; // multicast
  if (a === 0x2001 && b === 0x0db8) return false; // documentation
  if (a === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return false; // discard-only
  return true;
}
