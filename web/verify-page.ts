/**
 * The public verification page (`/verify`), in the browser. A file dropped here is hashed HERE, in
 * chunks (SHA-256 and SM3 through core's `createMultiHasher`), and never leaves the machine: the
 * only requests are GETs to this node for the digest's public facts and, when no trust file is
 * given, for the node's trust file and the keys it pinned for its anchor targets. With the receipt, core's `verifyReceipt` runs here exactly as
 * in `evidence verify`; a court should pin its own trust file, which the page takes too.
 *
 * The DOM is written with `textContent` only (no HTML strings), under a strict
 * Content-Security-Policy (routes/verify-page.ts in the gateway).
 */

import { createMultiHasher, isDigest, type Digest, type DigestSet } from '../core/digest';
import { mergeTrust, parseTrustFile, trustFingerprint, type TrustFile } from '../core/trust';
import { verifyReceipt, type Check, type ProvenFacts, type Verdict } from '../core/verify';
import {
  CHECK_MARKS,
  CORE_STEPS,
  NOT_PROVEN,
  STEP_LABELS,
  VERDICT_STYLES,
  formatSize,
  formatTime,
  type Label,
} from '../documents/labels';

/** Bytes read and hashed at a time: memory stays bounded whatever the file's size. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Receipts are a few KB, trust files a few tens; the CLI reads at most this much too. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

interface HashedFile {
  readonly name: string;
  readonly size: number;
  readonly digests: DigestSet;
}

interface JsonInput<T> {
  readonly name: string;
  readonly value: T;
}

interface PublicFacts {
  readonly time?: unknown;
  readonly txId?: unknown;
  readonly chainId?: unknown;
  readonly attestations?: unknown;
}

const state: {
  file?: HashedFile;
  receipt?: JsonInput<unknown>;
  pinned?: JsonInput<TrustFile>;
  nodeTrust?: Promise<NodeTrust>;
  /** Bumped per dropped file, so a slower earlier hash cannot overwrite a newer one. */
  generation: number;
} = { generation: 0 };

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

type Child = Node | string | undefined | false;

/** An element with attributes and children; text is always text, never markup. */
function el(
  tag: string,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) {
    if (child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** Chinese, then English in a smaller, muted span. */
function bilingual(label: Label): HTMLElement {
  return el(
    'span',
    {},
    label.zh,
    label.en ? el('span', { class: 'en', lang: 'en' }, label.en) : undefined,
  );
}

function show(element: HTMLElement, ...children: Child[]): void {
  element.replaceChildren(...children.filter((c): c is Node | string => !!c));
  element.hidden = false;
}

/** `?digest=sha256:...`, as the QR codes of reports and certificates carry it. */
function digestFromQuery(): Digest | undefined {
  const digest = new URLSearchParams(window.location.search).get('digest') ?? undefined;
  return isDigest(digest) && digest.startsWith('sha256:') ? digest : undefined;
}

async function hashFile(file: File, generation: number): Promise<HashedFile | undefined> {
  const hasher = createMultiHasher();
  const progress = byId<HTMLProgressElement>('progress');
  const text = byId('progress-text');
  byId('file-progress').hidden = false;
  for (let offset = 0; offset < file.size || offset === 0; offset += CHUNK_BYTES) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    if (generation !== state.generation) return undefined;
    hasher.update(chunk);
    const percent = file.size === 0 ? 100 : Math.floor((hasher.bytes / file.size) * 100);
    progress.value = percent;
    text.textContent = `${percent}% · ${formatSize(hasher.bytes)} / ${formatSize(file.size)}`;
    if (file.size === 0) break;
  }
  return { name: file.name, size: hasher.bytes, digests: hasher.digest() };
}

async function onFile(file: File): Promise<void> {
  const generation = ++state.generation;
  byId('file-name').textContent = file.name;
  byId('file-digests').hidden = true;
  byId('lookup').hidden = true;
  const hashed = await hashFile(file, generation);
  if (!hashed) return;
  state.file = hashed;
  const list = byId('file-digests');
  const rows: Node[] = [];
  for (const [algorithm, digest] of Object.entries(hashed.digests)) {
    rows.push(el('dt', {}, algorithm === 'sm3' ? 'SM3' : 'SHA-256'));
    rows.push(el('dd', { class: 'mono', 'data-algorithm': algorithm }, digest));
  }
  show(list, ...rows);
  await lookUp(hashed.digests.sha256, generation);
  if (state.receipt) await runVerification();
}

/** GET /v1/public/evidence/{digest}: facts, `null` when not on chain. */
async function fetchPublicFacts(digest: Digest): Promise<PublicFacts | null> {
  const response = await fetch(`/v1/public/evidence/${digest}`, {
    headers: { accept: 'application/json' },
    credentials: 'omit',
    cache: 'no-store',
  });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`the node answered ${response.status}`);
  return (await response.json()) as PublicFacts;
}

async function lookUp(digest: Digest, generation: number): Promise<void> {
  const box = byId('lookup');
  box.dataset.state = 'pending';
  show(box, bilingual({ zh: '正在向本节点查询摘要…', en: 'Looking the digest up on this node…' }));
  let facts: PublicFacts | null;
  try {
    facts = await fetchPublicFacts(digest);
  } catch (error) {
    if (generation !== state.generation) return;
    box.dataset.state = 'unavailable';
    show(
      box,
      el('strong', {}, bilingual({ zh: '无法查询本节点', en: 'The node could not be asked' })),
      el(
        'p',
        {},
        bilingual({
          zh: `（${(error as Error).message}）离线时仍可用收据与受信任文件在本机核验。`,
          en: 'Offline, the receipt and a trust file still verify on this machine.',
        }),
      ),
    );
    return;
  }
  if (generation !== state.generation) return;
  const qr = digestFromQuery();
  const qrNote =
    qr !== undefined && qr !== digest
      ? el(
          'p',
          { class: 'bad' },
          bilingual({
            zh: '注意：此文件的摘要与二维码所指的摘要不同。',
            en: 'Note: this file is not the one the QR code names.',
          }),
        )
      : undefined;
  if (facts === null) {
    box.dataset.state = 'not-on-chain';
    show(
      box,
      el('strong', { class: 'verdict-word' }, bilingual({ zh: '未上链', en: 'Not on chain' })),
      el(
        'p',
        {},
        bilingual({
          zh: '本节点没有此文件摘要的存证记录：文件可能被改动过，或在别处存证。',
          en: 'This node has no record of this digest: the file may have been changed, or deposited elsewhere.',
        }),
      ),
      qrNote,
    );
    return;
  }
  box.dataset.state = 'on-chain';
  const time = typeof facts.time === 'string' ? formatTime(facts.time) : '—';
  show(
    box,
    el('strong', { class: 'verdict-word' }, bilingual({ zh: '已上链', en: 'On chain' })),
    el(
      'p',
      {},
      bilingual({
        zh: `本节点记录此摘要于 ${time} 上链。此为节点所称，尚未经核验；提供收据可在本机完整核验。`,
        en: 'This node reports the digest on chain. That is its word, not yet verified: add the receipt to verify it here.',
      }),
    ),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, '区块链 Chain'),
      el('dd', {}, String(facts.chainId ?? '—')),
      el('dt', {}, '交易 Transaction'),
      el('dd', { class: 'mono' }, String(facts.txId ?? '—')),
      el('dt', {}, '其他存证方 Attestations'),
      el('dd', {}, String(typeof facts.attestations === 'number' ? facts.attestations : '—')),
    ),
    qrNote,
  );
}

async function readJson(file: File): Promise<unknown> {
  if (file.size > MAX_JSON_BYTES)
    throw new Error(`${file.name} is larger than ${MAX_JSON_BYTES} bytes`);
  try {
    return JSON.parse((await file.text()).replace(/^\uFEFF/, '')) as unknown;
  } catch {
    throw new Error(`${file.name} is not JSON`);
  }
}

function inputError(where: string, message: string): void {
  const section = byId('verdict-section');
  const verdict = byId('verdict');
  verdict.dataset.verdict = 'INPUT_ERROR';
  verdict.style.removeProperty('--c');
  verdict.style.removeProperty('--t');
  show(verdict, el('strong', { class: 'bad' }, `${where}: ${message}`));
  byId('facts').replaceChildren();
  byId('facts-note').hidden = true;
  byId('checks-body').replaceChildren();
  byId('trust-source').replaceChildren();
  section.hidden = false;
}

async function onReceipt(file: File): Promise<void> {
  byId('receipt-name').textContent = file.name;
  try {
    state.receipt = { name: file.name, value: await readJson(file) };
  } catch (error) {
    state.receipt = undefined;
    inputError('收据 Receipt', (error as Error).message);
    return;
  }
  await runVerification();
}

async function onTrust(file: File): Promise<void> {
  byId('trust-name').textContent = file.name;
  try {
    state.pinned = { name: file.name, value: parseTrustFile(await readJson(file)) };
  } catch (error) {
    state.pinned = undefined;
    const fields = (error as { fields?: { path: string }[] }).fields ?? [];
    const where = fields.map((f) => f.path || '/').join(', ');
    inputError('受信任文件 Trust file', `${(error as Error).message}${where ? ` (${where})` : ''}`);
    return;
  }
  if (state.receipt) await runVerification();
}

/** The trust the page uses without a pinned file, and the anchor targets it includes. */
interface NodeTrust {
  readonly trust: TrustFile;
  readonly targets: readonly string[];
}

/** How the page asks the node for a trust file. */
const TRUST_REQUEST: RequestInit = {
  headers: { accept: 'application/json' },
  credentials: 'omit',
  cache: 'no-store',
};

/** The trust file of an answer. */
async function trustOf(response: Response): Promise<TrustFile> {
  if (!response.ok) throw new Error(`the node answered ${response.status}`);
  return parseTrustFile(await response.json());
}

/**
 * GET /v1/trust, once, with what the node pinned for its anchor targets (GET
 * /v1/anchoring/trust: the chains it anchors on, the time-stamp authorities that stamp it), so
 * that upgraded receipts verify here too; a node that does not serve the latter is taken alone.
 */
function nodeTrust(): Promise<NodeTrust> {
  state.nodeTrust ??= Promise.all([
    fetch('/v1/trust', TRUST_REQUEST).then(trustOf),
    fetch('/v1/anchoring/trust', TRUST_REQUEST)
      .then(trustOf)
      .catch(() => undefined),
  ])
    .then(([own, targets]) => ({
      trust: targets ? mergeTrust(own, targets) : own,
      targets: targets?.chains.map((chain) => chain.chainId) ?? [],
    }))
    .catch((error: unknown) => {
      state.nodeTrust = undefined;
      throw error;
    });
  return state.nodeTrust;
}

async function runVerification(): Promise<void> {
  const receipt = state.receipt;
  if (!receipt) return;
  let trust: TrustFile;
  let source: Label;
  if (state.pinned) {
    trust = state.pinned.value;
    source = {
      zh: `使用您提供的受信任文件 ${state.pinned.name}`,
      en: `Pinned trust file ${state.pinned.name}`,
    };
  } else {
    let targets: readonly string[];
    try {
      ({ trust, targets } = await nodeTrust());
    } catch (error) {
      inputError(
        '受信任文件 Trust file',
        `无法取得本节点的受信任文件，请提供受信任文件 / cannot get this node's trust file (${(error as Error).message}); drop a trust file`,
      );
      return;
    }
    const pinned = targets.join(', ');
    source =
      targets.length === 0
        ? {
            zh: '使用本节点发布的受信任文件（法院应固定自己的受信任文件）',
            en: "This node's own trust file (a court should pin its own)",
          }
        : {
            zh: `使用本节点发布的受信任文件及其为锚定目标固定的密钥（${pinned}）（法院应固定自己的受信任文件）`,
            en: `This node's own trust file, with the keys it pinned for its anchor targets (${pinned}); a court should pin its own`,
          };
  }
  const file = state.file;
  const verdict = verifyReceipt(receipt.value, trust, file ? { fileDigests: file.digests } : {});
  renderVerdict(verdict, file, trust, source);
}

function renderVerdict(
  verdict: Verdict,
  file: HashedFile | undefined,
  trust: TrustFile,
  source: Label,
): void {
  const style = VERDICT_STYLES[verdict.verdict];
  const box = byId('verdict');
  box.dataset.verdict = verdict.verdict;
  box.style.setProperty('--c', style.color);
  box.style.setProperty('--t', style.tint);
  const existed = verdict.facts
    ? el(
        'p',
        { class: 'existed' },
        bilingual({
          zh: `该文件存在不晚于 ${formatTime(verdict.facts.existedBy)}`,
          en: 'The file existed no later than this chain time.',
        }),
      )
    : undefined;
  show(
    box,
    el('p', { class: 'name' }, style.zh, el('span', { lang: 'en' }, style.en)),
    verdict.code && verdict.code !== verdict.verdict
      ? el('p', { class: 'code' }, `代码 Code: ${verdict.code}`)
      : undefined,
    el('p', {}, bilingual(style.meaning)),
    existed,
    file
      ? undefined
      : el(
          'p',
          { class: 'muted' },
          bilingual({
            zh: '尚未提供文件：仅核验了收据本身，未比对文件摘要。',
            en: 'No file given: only the receipt was checked, not the file.',
          }),
        ),
  );
  renderFacts(verdict.facts ?? verdict.claims, verdict.facts !== undefined);
  renderChecks(verdict.checks);
  byId('trust-source').replaceChildren(
    bilingual(source),
    el('br'),
    el('span', { class: 'mono' }, `指纹 Fingerprint ${trustFingerprint(trust)}`),
  );
  byId('verdict-section').hidden = false;
}

function renderFacts(facts: ProvenFacts | undefined, proven: boolean): void {
  const list = byId('facts');
  const note = byId('facts-note');
  note.hidden = true;
  if (!facts) {
    list.replaceChildren();
    return;
  }
  if (!proven) show(note, bilingual(NOT_PROVEN));
  const row = (label: string, value: string, mono = false) => [
    el('dt', {}, label),
    el('dd', mono ? { class: 'mono' } : {}, value),
  ];
  list.replaceChildren(
    ...row('上链时间 Chain time', formatTime(facts.existedBy)),
    ...row('区块链 Chain', facts.chainId),
    ...row('区块 Block', `#${facts.blockNumber}`),
    ...row('交易 Transaction', facts.txId, true),
    ...row('存证方 Depositor', facts.depositor.org),
    ...(facts.signer ? row('签名密钥 Signing key', facts.signer.keyId, true) : []),
    ...(facts.earliestAnchor
      ? row('最早锚定 Earliest anchor', formatTime(facts.earliestAnchor))
      : []),
  );
}

function renderChecks(checks: readonly Check[]): void {
  const done = new Set(checks.map((c) => c.step));
  const all: Check[] = [...checks];
  for (const step of CORE_STEPS) {
    if (!done.has(step as Check['step'])) {
      all.push({ step: step as Check['step'], status: 'skip', detail: '未检查 / not checked' });
    }
  }
  byId('checks-body').replaceChildren(
    ...all.map((check) => {
      const mark = CHECK_MARKS[check.status];
      const label = STEP_LABELS[check.step] ?? { zh: check.step, en: '' };
      return el(
        'tr',
        { 'data-status': check.status, 'data-step': check.step },
        el('td', { class: `mark ${check.status}`, 'aria-label': check.status }, mark.html),
        el('td', { class: 'step' }, bilingual(label)),
        el('td', {}, check.code ? el('strong', {}, `${check.code}: `) : undefined, check.detail),
      );
    }),
  );
}

/** A label that takes a dropped file, and its input that takes a chosen one. */
function wire(dropId: string, inputId: string, handle: (file: File) => Promise<void>): void {
  const drop = byId(dropId);
  const input = byId<HTMLInputElement>(inputId);
  const run = (file: File | undefined) => {
    if (file)
      void handle(file).catch((error: unknown) => inputError(file.name, (error as Error).message));
  };
  input.addEventListener('change', () => run(input.files?.[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    run(event.dataTransfer?.files[0]);
  });
}

/**
 * GET /v1/forks: whether the node holds proof that its chain's key signed two different blocks
 * at one height. Every reader of its receipts should know before trusting one from that height
 * on; a node that answers otherwise (an older node, an error) shows nothing.
 */
async function showFork(): Promise<void> {
  const response = await fetch('/v1/forks', TRUST_REQUEST);
  if (!response.ok) return;
  const answer = (await response.json()) as {
    forked?: { chainId?: unknown; number?: unknown; detectedAt?: unknown } | null;
  };
  const fork = answer.forked;
  if (!fork || typeof fork.number !== 'number' || typeof fork.chainId !== 'string') return;
  show(
    byId('fork-warning'),
    bilingual({
      zh:
        `本链（${fork.chainId}）的签名密钥在第 ${fork.number} 号区块签署了两个不同的区块：` +
        '本节点持有证明。该高度及之后区块的收据，需有此前的锚定或可信时间戳佐证，或由法院认定。',
      en:
        `This chain's key (${fork.chainId}) signed two different blocks at height ${fork.number}; ` +
        'this node holds the proof. A receipt of that block or a later one needs an anchor or a ' +
        'trusted time stamp from before it, or a court’s judgement.',
    }),
  );
}

function start(): void {
  // A file dropped outside the zones must not make the browser open it (and leave the page).
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  wire('file-drop', 'file-input', onFile);
  wire('receipt-drop', 'receipt-input', onReceipt);
  wire('trust-drop', 'trust-input', onTrust);
  const qr = digestFromQuery();
  if (qr !== undefined) {
    show(
      byId('qr-digest'),
      bilingual({ zh: '二维码所指摘要：', en: 'Digest named by the QR code:' }),
      el('span', { class: 'mono' }, qr),
    );
    void lookUp(qr, state.generation);
  }
  void showFork().catch(() => undefined);
  document.documentElement.dataset.ready = 'true';
}

start();
