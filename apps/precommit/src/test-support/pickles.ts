/**
 * Tiny pickles written byte by byte (as `pickle.dumps` produced them), never loaded by anything.
 * The payload is the harmless `touch /tmp/brine-pwned`.
 */
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** `os.system('touch /tmp/brine-pwned')` via REDUCE, protocol 2 (posix module name, as Linux pickles it). */
export const MALICIOUS_P2 = bytes(
  '\x80\x02cposix\nsystem\nq\x00X\x16\x00\x00\x00touch /tmp/brine-pwnedq\x01\x85q\x02Rq\x03.',
);

/** The same call at protocol 0: plain ASCII text. */
export const MALICIOUS_P0 = bytes('cposix\nsystem\np0\n(Vtouch /tmp/brine-pwned\np1\ntp2\nRp3\n.');

/** `{'weights': [1.5, 2.5], 'name': 'tiny'}`, protocol 2. */
export const CLEAN_P2 = bytes(
  '\x80\x02}q\x00(X\x07\x00\x00\x00weightsq\x01]q\x02(G?\xf8\x00\x00\x00\x00\x00\x00G@\x04\x00\x00\x00\x00\x00\x00eX\x04\x00\x00\x00nameq\x03X\x04\x00\x00\x00tinyq\x04u.',
);

/** The same dict at protocol 0. */
export const CLEAN_P0 = bytes('(dp0\nVweights\np1\n(lp2\nF1.5\naF2.5\nasVname\np3\nVtiny\np4\ns.');

/** `collections.OrderedDict(a=1)` at protocol 0 (an import, but a safe one). */
export const ORDERED_DICT_P0 = bytes('ccollections\nOrderedDict\np0\n(tRp1\nVa\np2\nI1\ns.');

/** `mypkg.models.Net()` via NEWOBJ, protocol 2: a user's own class, unknown to brine (suspicious, not dangerous). */
export const UNKNOWN_CLASS_P2 = bytes('\x80\x02cmypkg.models\nNet\nq\x00)\x81q\x01.');
