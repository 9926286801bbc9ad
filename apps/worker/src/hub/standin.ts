/**
 * A local stand-in for the Hugging Face Hub: generated model repositories served through the same
 * API paths brine reads (`/api/models/{repo}/revision/{rev}?blobs=true`, `/{repo}/resolve/{rev}/{path}`
 * with Range), for the workerd tests and `npm run hub:sim`. Weight files are sparse and virtual:
 * a multi-GB checkpoint is a few header bytes and zeros, produced per range, never held whole.
 * Malicious files carry a harmless payload (`touch /tmp/brine-pwned`) and are only ever scanned.
 */

const enc = new TextEncoder();
const bytesOf = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

/** `posix.system('touch /tmp/brine-pwned')`, protocol 2. */
export const EVIL_PICKLE = bytesOf(
  '\x80\x02cposix\nsystem\nq\x00X\x16\x00\x00\x00touch /tmp/brine-pwnedq\x01\x85q\x02Rq\x03.',
);

/** `posix.system(command)`, protocol 2: distinct bytes per command. */
export function evilPickle(command: string): Uint8Array {
  return bytesOf(`\x80\x02cposix\nsystem\nq\x00X${u32(command.length)}${command}q\x01\x85q\x02Rq\x03.`);
}

function u32(n: number): string {
  return String.fromCharCode(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}

/** A one-tensor state dict as `torch.save` pickles it (protocol 2, storage key `0`). */
export function stateDictPickle(numel: number): Uint8Array {
  const str = (s: string) => `X${u32(s.length)}${s}`;
  return bytesOf(
    '\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(' +
      `${str('0.weight')}q\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((` +
      `${str('storage')}q\x04ctorch\nFloatStorage\nq\x05${str('0')}q\x06${str('cpu')}q\x07J${u32(numel)}tq\x08Q` +
      `K\x00J${u32(numel)}\x85q\tK\x01\x85q\n\x89h\x00)Rq\x0btq\x0cRq\ru.`,
  );
}

/** A file served by the stand-in: `size` bytes, zeros except at `segments`. */
export interface VirtualFile {
  size: number;
  segments: Array<{ at: number; bytes: Uint8Array }>;
}

export function readVirtual(file: VirtualFile, start: number, end: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.max(0, end - start));
  for (const s of file.segments) {
    const from = Math.max(start, s.at);
    const to = Math.min(end, s.at + s.bytes.length);
    if (from < to) out.set(s.bytes.subarray(from - s.at, to - s.at), from - start);
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array, zeros = 0): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  for (let i = 0; i < zeros; i++) c = (CRC_TABLE[c & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

function le(n: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => Math.floor(n / 2 ** (8 * i)) & 0xff);
}

/**
 * A stored zip laid out as `torch.save` writes it: `archive/data.pkl`, the tensor `archive/data/0`
 * (zeros), `archive/version`. Tensors stay under 4 GiB (no ZIP64). The tensor's CRC is real up to
 * 1 MiB; above, it is left 0, as no reader checks the CRC of data it skips.
 */
export function torchZip(pickle: Uint8Array, tensorBytes: number): VirtualFile {
  const entries = [
    { name: 'archive/data.pkl', data: pickle as Uint8Array | undefined, size: pickle.length },
    { name: 'archive/data/0', data: undefined, size: tensorBytes },
    { name: 'archive/version', data: enc.encode('3\n'), size: 2 },
  ];
  const segments: VirtualFile['segments'] = [];
  const central: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = e.data ? crc32(e.data) : e.size <= 1 << 20 ? crc32(new Uint8Array(0), e.size) : 0;
    const common = [
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(crc, 4),
      ...le(e.size, 4),
      ...le(e.size, 4),
      ...le(name.length, 2),
      ...le(0, 2),
    ];
    const local = Uint8Array.from([...le(0x04034b50, 4), ...le(20, 2), ...common, ...name]);
    segments.push({ at: offset, bytes: local });
    if (e.data) segments.push({ at: offset + local.length, bytes: e.data });
    central.push(
      ...le(0x02014b50, 4),
      ...le(20, 2),
      ...le(20, 2),
      ...common,
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 4),
      ...le(offset, 4),
      ...name,
    );
    offset += local.length + e.size;
  }
  const eocd = [
    ...le(0x06054b50, 4),
    0,
    0,
    0,
    0,
    ...le(3, 2),
    ...le(3, 2),
    ...le(central.length, 4),
    ...le(offset, 4),
    0,
    0,
  ];
  segments.push({ at: offset, bytes: Uint8Array.from([...central, ...eocd]) });
  return { size: offset + central.length + eocd.length, segments };
}

/** A safetensors file with one F32 tensor of `tensorBytes` (zeros). */
export function safetensorsFile(tensorBytes: number): VirtualFile {
  const n = Math.floor(tensorBytes / 4);
  let header = JSON.stringify({
    __metadata__: { format: 'pt' },
    w: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] },
  });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const head = Uint8Array.from([...le(header.length, 8), ...enc.encode(header)]);
  return { size: head.length + n * 4, segments: [{ at: 0, bytes: head }] };
}

function textFile(text: string): VirtualFile {
  const bytes = enc.encode(text);
  return { size: bytes.length, segments: [{ at: 0, bytes }] };
}

/** How a file misbehaves: answer slowly, fail the first `failures` requests, or never answer in time. */
export interface Behaviour {
  delayMs?: number;
  failures?: number;
  hang?: boolean;
}

export interface StandinFile {
  path: string;
  content: VirtualFile;
  /** LFS files carry their SHA-256 in the listing (the stand-in's content id for virtual files). */
  lfsSha256?: string;
  behaviour?: Behaviour;
}

export interface StandinRepo {
  repo: string;
  commit: string;
  files: StandinFile[];
  /** Failures of the listing before it answers. */
  listingFailures?: number;
}

/** A malicious file planted in the generated hub, which any scan must report. */
export interface PlantedFile {
  repo: string;
  path: string;
}

export interface StandinHub {
  repos: StandinRepo[];
  planted: PlantedFile[];
  /** Sum of every file's size over every repository. */
  hostedBytes: number;
}

export interface GenerateOptions {
  repos: number;
  seed?: number;
  /** Distinct base checkpoints shared by many repositories (fine-tunes that kept the weights). */
  sharedBases?: number;
  /** Largest tensor of a generated checkpoint. Default 3 GiB. */
  maxTensorBytes?: number;
  /** One repository in `maliciousEvery` carries a malicious file. */
  maliciousEvery?: number;
  /** One in `slowEvery` answers each request after `slowDelayMs`. */
  slowEvery?: number;
  slowDelayMs?: number;
  /** One in `flakyEvery` fails its first two requests per file (and its listing once). */
  flakyEvery?: number;
  /** One in `brokenEvery` has a file that always fails, one in `brokenEvery + 1` one that hangs. */
  brokenEvery?: number;
}

/** Deterministic generator (mulberry32), so a simulation is repeatable. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function hex(text: string, algo: 'SHA-256' | 'SHA-1'): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest(algo, enc.encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

const MiB = 1024 * 1024;

/** Generates a hub of `repos` repositories (see {@link GenerateOptions}). */
export async function generateHub(opts: GenerateOptions): Promise<StandinHub> {
  const rand = prng(opts.seed ?? 1);
  const maxTensor = opts.maxTensorBytes ?? 3 * 1024 * MiB;
  const tensorSize = () => Math.max(4, Math.floor(((0.25 + 0.75 * rand()) * maxTensor) / 4) * 4);
  const bases: StandinFile[] = [];
  for (let b = 0; b < (opts.sharedBases ?? 20); b++) {
    const size = tensorSize();
    const safetensors = b % 2 === 0;
    bases.push({
      path: safetensors ? 'model.safetensors' : 'pytorch_model.bin',
      content: safetensors ? safetensorsFile(size) : torchZip(stateDictPickle(size / 4), size),
      lfsSha256: await hex(`base-${b}-${size}`, 'SHA-256'),
    });
  }
  const readme = textFile('---\nlicense: apache-2.0\n---\n# A model\n');
  const repos: StandinRepo[] = [];
  const planted: PlantedFile[] = [];
  let hostedBytes = 0;
  for (let i = 0; i < opts.repos; i++) {
    const repo = `org${i % 97}/model-${i}`;
    const files: StandinFile[] = [
      { path: 'README.md', content: readme },
      {
        path: 'config.json',
        content: textFile(JSON.stringify({ model_type: 'demo', hidden_size: 64 + (i % 7), id: i })),
      },
    ];
    // Most repositories re-host a shared base; the rest have weights of their own.
    if (rand() < 0.7 && bases.length > 0) {
      files.push({ ...(bases[Math.floor(rand() * bases.length)] as StandinFile) });
    } else {
      const size = tensorSize();
      files.push({
        path: 'pytorch_model.bin',
        content: torchZip(stateDictPickle(size / 4), size),
        lfsSha256: await hex(`own-${i}-${size}`, 'SHA-256'),
      });
    }
    if (rand() < 0.3) {
      const size = Math.floor(((1 + rand() * 15) * MiB) / 4) * 4;
      files.push({
        path: 'adapter/adapter_model.safetensors',
        content: safetensorsFile(size),
        lfsSha256: await hex(`adapter-${i}`, 'SHA-256'),
      });
    }
    const every = (n: number | undefined) => n !== undefined && n > 0 && i % n === n - 1;
    if (every(opts.maliciousEvery)) {
      // Alternate between a poisoned checkpoint (LFS) and a small pickle kept in git.
      if ((i / (opts.maliciousEvery as number)) % 2 < 1) {
        files.push({
          path: 'optimizer.pt',
          content: torchZip(EVIL_PICKLE, 4096),
          lfsSha256: await hex(`evil-${i}`, 'SHA-256'),
        });
        planted.push({ repo, path: 'optimizer.pt' });
      } else {
        const evil = evilPickle(`touch /tmp/brine-pwned-${i}`);
        files.push({
          path: `training_args_${i}.bin`,
          content: { size: evil.length, segments: [{ at: 0, bytes: evil }] },
        });
        planted.push({ repo, path: `training_args_${i}.bin` });
      }
    }
    const behaviour: Behaviour | undefined = every(opts.slowEvery)
      ? { delayMs: opts.slowDelayMs ?? 20 }
      : every(opts.flakyEvery)
        ? { failures: 2 }
        : undefined;
    if (behaviour) for (const f of files) f.behaviour = behaviour;
    if (every(opts.brokenEvery)) {
      files.push({
        path: 'broken.bin',
        content: torchZip(stateDictPickle(16), 64),
        lfsSha256: await hex(`broken-${i}`, 'SHA-256'),
        behaviour: { failures: Number.MAX_SAFE_INTEGER },
      });
    }
    if (every(opts.brokenEvery === undefined ? undefined : opts.brokenEvery + 1)) {
      files.push({
        path: 'hanging.bin',
        content: torchZip(stateDictPickle(16), 64),
        lfsSha256: await hex(`hang-${i}`, 'SHA-256'),
        behaviour: { hang: true },
      });
    }
    for (const f of files) hostedBytes += f.content.size;
    repos.push({
      repo,
      commit: await hex(`${repo}@main`, 'SHA-1'),
      files,
      ...(every(opts.flakyEvery) ? { listingFailures: 1 } : {}),
    });
  }
  return { repos, planted, hostedBytes };
}

/** Counters of what the stand-in served. */
export interface StandinCounters {
  requests: number;
  bytesServed: number;
  failuresServed: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * The stand-in as a fetch-style handler, for a loopback server (Node) or a fetch stub (workerd).
 * `hangMs` is how long a hanging file keeps a request open (longer than any scan's timeout).
 */
export function createStandinHandler(hub: StandinHub, options: { hangMs?: number } = {}) {
  const byRepo = new Map(hub.repos.map((r) => [r.repo, r]));
  const counters: StandinCounters = { requests: 0, bytesServed: 0, failuresServed: 0 };
  const failed = new Map<string, number>();
  const failOnce = (key: string, allowed: number | undefined): boolean => {
    if (!allowed) return false;
    const n = failed.get(key) ?? 0;
    if (n >= allowed) return false;
    failed.set(key, n + 1);
    counters.failuresServed++;
    return true;
  };
  const handle = async (request: Request, signal?: AbortSignal): Promise<Response> => {
    counters.requests++;
    const url = new URL(request.url);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'revision') {
      const repo = byRepo.get(`${parts[2]}/${parts[3]}`);
      if (!repo) return Response.json({ error: 'Repository not found' }, { status: 404 });
      if (failOnce(`list:${repo.repo}`, repo.listingFailures)) return new Response('busy', { status: 503 });
      return Response.json({
        id: repo.repo,
        sha: repo.commit,
        siblings: repo.files.map((f) => ({
          rfilename: f.path,
          size: f.content.size,
          ...(f.lfsSha256 ? { lfs: { sha256: f.lfsSha256, size: f.content.size, pointerSize: 134 } } : {}),
        })),
      });
    }
    const at = parts.indexOf('resolve');
    if (at === 2) {
      const repo = byRepo.get(`${parts[0]}/${parts[1]}`);
      const path = parts.slice(4).join('/');
      const file = repo?.files.find((f) => f.path === path);
      if (!repo || !file) return new Response('not found', { status: 404 });
      const b = file.behaviour;
      if (b?.hang) {
        await sleep(options.hangMs ?? 30_000, signal ?? request.signal);
        return new Response('too late', { status: 504 });
      }
      if (b?.delayMs) await sleep(b.delayMs);
      if (failOnce(`file:${repo.repo}/${path}`, b?.failures)) return new Response('busy', { status: 503 });
      const size = file.content.size;
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get('range') ?? '');
      if (!range) {
        counters.bytesServed += size;
        return new Response(readVirtual(file.content, 0, size), {
          status: 200,
          headers: { 'content-length': String(size) },
        });
      }
      const start = Number(range[1]);
      const end = Math.min(size - 1, range[2] ? Number(range[2]) : size - 1);
      if (start >= size)
        return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
      const body = readVirtual(file.content, start, end + 1);
      counters.bytesServed += body.length;
      return new Response(body, {
        status: 206,
        headers: {
          'content-range': `bytes ${start}-${end}/${size}`,
          'content-length': String(body.length),
          'accept-ranges': 'bytes',
        },
      });
    }
    return new Response('not found', { status: 404 });
  };
  return { handle, counters };
}
