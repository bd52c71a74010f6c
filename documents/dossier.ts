/**
 * The compliance dossier as a PDF (合规说明材料): the node describing itself for a court examining
 * the platform. May run to several A4 pages. Deterministic: the PDF's creation date is the
 * dossier's `generatedAt`, so the same dossier renders to the same bytes.
 */

import {
  parseComplianceDossier,
  type ComplianceDossier,
  type DossierAnchorTarget,
} from '../core/dossier';
import { clip, formatTime, signatureAlgorithmName, type Label } from './labels';
import { COLORS, renderPdf, type Field, type PdfLayout } from './pdf-layout';

export const DOSSIER_TITLE: Label = {
  zh: '电子数据存证平台合规说明',
  en: 'Compliance Dossier of the Evidence Platform',
};

const ROLE_LABELS: Readonly<Record<string, string>> = {
  operator: '运营方 operator',
  court: '法院 court',
  notary: '公证机构 notary',
  appraisal: '鉴定机构 appraisal institute',
  platform: '接入平台 access platform',
  'anchor-operator': '锚定链运营方 anchor chain operator',
  other: '其他 other',
};

const LEDGER_LABELS = {
  embedded: '嵌入式账本 embedded ledger',
  fabric: 'Hyperledger Fabric',
} as const;

function nodeFields(d: ComplianceDossier): Field[] {
  const fields: Field[] = [
    { label: { zh: '节点名称', en: 'Node' }, value: clip(d.node.name, 200) },
    { label: { zh: '区块链', en: 'Chain' }, value: d.node.chainId },
    { label: { zh: '账本类型', en: 'Ledger' }, value: LEDGER_LABELS[d.node.ledger] },
  ];
  if (d.node.url)
    fields.push({
      label: { zh: '节点地址', en: 'Address' },
      value: clip(d.node.url, 300),
      mono: true,
    });
  d.node.keys.forEach((key, i) => {
    const window = [
      key.notBefore ? `自 from ${key.notBefore}` : '',
      key.notAfter ? `至 until ${key.notAfter}` : '',
    ]
      .filter((p) => p !== '')
      .join(' ');
    fields.push({
      label: { zh: `节点密钥 ${i + 1}`, en: `Key ${i + 1}` },
      value: `${key.keyId}  ${signatureAlgorithmName(key.algorithm)}${window ? `  ${window}` : ''}`,
      mono: true,
    });
  });
  if (d.node.keys.length === 0) {
    fields.push({ label: { zh: '节点密钥', en: 'Keys' }, value: '无 / none', tone: 'muted' });
  }
  return fields;
}

function organisationFields(d: ComplianceDossier): Field[] {
  if (d.organisations.length === 0) {
    return [
      { label: { zh: '机构', en: 'Organisations' }, value: '未列出 / none listed', tone: 'muted' },
    ];
  }
  return d.organisations.map((org) => ({
    label: { zh: ROLE_LABELS[org.role]?.split(' ')[0] ?? org.role, en: org.role },
    value: [
      clip(org.name, 200),
      org.mspId ? `MSP ${org.mspId}` : '',
      org.creditCode ? `统一社会信用代码 ${org.creditCode}` : '',
    ]
      .filter((p) => p !== '')
      .join(' · '),
  }));
}

function algorithmFields(d: ComplianceDossier): Field[] {
  return d.algorithms.map((a) => ({
    label: { zh: a.name, en: '' },
    value: `${a.standard} — ${a.purpose}${a.inUse ? '' : '（本节点未使用 / not used by this node）'}`,
    ...(a.inUse ? {} : { tone: 'muted' as const }),
  }));
}

function softwareFields(d: ComplianceDossier): Field[] {
  const s = d.software;
  const runtime = [
    s.node ? `Node.js ${s.node}` : '',
    s.openssl ? `OpenSSL ${s.openssl}` : '',
    s.fabric ? `Fabric ${s.fabric}` : '',
  ]
    .filter((p) => p !== '')
    .join(' · ');
  return [
    { label: { zh: '软件版本', en: 'Software' }, value: `${s.name} ${s.version}` },
    {
      label: { zh: '代码摘要', en: 'Code digest' },
      value: s.codeDigest ?? '未提供 / not given',
      ...(s.codeDigest ? { mono: true } : { tone: 'muted' as const }),
    },
    ...(runtime ? [{ label: { zh: '运行环境', en: 'Runtime' }, value: runtime }] : []),
  ];
}

function chainFields(d: ComplianceDossier): Field[] {
  const c = d.chain;
  return [
    { label: { zh: '区块链', en: 'Chain' }, value: c.chainId },
    {
      label: { zh: '区块高度', en: 'Height' },
      value: `${c.height.toLocaleString('en-US')} 个区块 blocks`,
    },
    { label: { zh: '最新区块哈希', en: 'Tip hash' }, value: c.tipHash, mono: true },
    ...(c.tipTime
      ? [{ label: { zh: '最新区块时间', en: 'Tip time' }, value: formatTime(c.tipTime) }]
      : []),
    {
      label: { zh: '存证记录数', en: 'Records' },
      ...(c.records === undefined
        ? { value: '不可用 / not available', tone: 'muted' as const }
        : {
            value: `${c.recordsLowerBound ? '≥ ' : ''}${c.records.toLocaleString('en-US')}${c.recordsLowerBound ? '（计数到上限为止 / counted up to a bound）' : ''}`,
          }),
    },
    ...(c.transactions !== undefined
      ? [
          {
            label: { zh: '交易数', en: 'Transactions' },
            value: c.transactions.toLocaleString('en-US'),
          },
        ]
      : []),
    ...(c.promoted
      ? [
          {
            label: { zh: '由副本重建', en: 'Rebuilt from a replica' },
            value:
              `${formatTime(c.promoted.at)}：副本持有 ${c.promoted.height.toLocaleString('en-US')} 个区块，` +
              `此后区块由本节点签署 / the replica held ${c.promoted.height.toLocaleString('en-US')} blocks ` +
              `(tip ${c.promoted.tipHash}); this node signed every block after`,
          },
        ]
      : []),
    ...(c.forked
      ? [
          {
            label: { zh: '分叉证明', en: 'Fork proof' },
            value:
              `本链密钥在第 ${c.forked.block} 号区块签署了两个不同的区块（${formatTime(c.forked.detectedAt)} 发现）` +
              ` / the chain's key signed two different blocks ${c.forked.block} (seen ` +
              `${formatTime(c.forked.detectedAt)}): GET /v1/forks`,
            tone: 'bad' as const,
          },
        ]
      : []),
  ];
}

function anchorValue(a: DossierAnchorTarget): string {
  const parts = [
    a.name !== undefined && a.targetChainId !== undefined ? clip(a.name, 128) : '',
    a.targetChainId === undefined
      ? '链标识待首次锚定后确定 / chain known after the first anchor'
      : '',
    a.description ? clip(a.description, 200) : '',
    a.intervalSeconds ? `每 ${a.intervalSeconds} 秒 / every ${a.intervalSeconds} s` : '',
  ];
  const last = a.lastAnchor;
  parts.push(
    last
      ? `最近一次 last: 存证区块 evidence block #${last.evidenceBlock}${last.targetBlock !== undefined ? ` → 锚定区块 anchor block #${last.targetBlock}` : ''}${last.txId ? `, tx ${last.txId}` : ''}, ${formatTime(last.time)}`
      : '尚未锚定 / not anchored yet',
  );
  return parts.filter((p) => p !== '').join(' · ');
}

function backupFields(b: NonNullable<ComplianceDossier['backups']>): Field[] {
  if ('configured' in b) {
    return [
      {
        label: { zh: '在线备份', en: 'Online backups' },
        value: '未配置 / not configured',
        tone: 'muted',
      },
    ];
  }
  const fields: Field[] = [
    {
      label: { zh: '备份策略', en: 'Policy' },
      value:
        (b.intervalSeconds === undefined
          ? '按需 / on request'
          : `每 ${b.intervalSeconds.toLocaleString('en-US')} 秒 / every ${b.intervalSeconds.toLocaleString('en-US')} s`) +
        (b.keep === undefined
          ? '；保留全部 / all kept'
          : `；保留最近 ${b.keep} 份 / newest ${b.keep} kept`),
    },
    {
      label: { zh: '现存完整备份', en: 'Completed backups' },
      value: b.completed.toLocaleString('en-US'),
    },
  ];
  if (b.last) {
    fields.push({
      label: { zh: '最近一次备份', en: 'Last backup' },
      value:
        b.last.height === undefined
          ? formatTime(b.last.finishedAt)
          : `${formatTime(b.last.finishedAt)}；${b.last.height.toLocaleString('en-US')} 个区块，已逐块校验 ${(b.last.verifiedBlocks ?? 0).toLocaleString('en-US')} / ${b.last.height.toLocaleString('en-US')} blocks, ${(b.last.verifiedBlocks ?? 0).toLocaleString('en-US')} verified`,
    });
    if (b.last.tipHash)
      fields.push({
        label: { zh: '备份链尖哈希', en: 'Tip in backup' },
        value: b.last.tipHash,
        mono: true,
      });
  }
  return fields;
}

function auditFields(d: ComplianceDossier): Field[] {
  const a = d.audit;
  if ('configured' in a) {
    return [
      {
        label: { zh: '审计日志', en: 'Audit log' },
        value: '未配置 / not configured',
        tone: 'muted',
      },
    ];
  }
  const period = a.from || a.to ? `${a.from ?? '…'} — ${a.to ?? '…'}` : '全部 / all time';
  const fields: Field[] = [
    { label: { zh: '统计区间', en: 'Period' }, value: period },
    { label: { zh: '审计记录数', en: 'Entries' }, value: a.entries.toLocaleString('en-US') },
  ];
  if (a.failures !== undefined) {
    fields.push({
      label: { zh: '拒绝或失败', en: 'Refused/failed' },
      value: a.failures.toLocaleString('en-US'),
    });
  }
  const actions = Object.entries(a.byAction ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  if (actions.length > 0) {
    fields.push({
      label: { zh: '按操作', en: 'By action' },
      value: actions.map(([action, n]) => `${action} ${n.toLocaleString('en-US')}`).join(' · '),
    });
  }
  if (a.headDigest)
    fields.push({ label: { zh: '审计链头摘要', en: 'Log head' }, value: a.headDigest, mono: true });
  return fields;
}

function drawDossier(layout: PdfLayout, d: ComplianceDossier): void {
  layout.y = layout.write(DOSSIER_TITLE.zh, layout.left, layout.y, layout.width, 19, {
    bold: true,
    color: COLORS.accent,
  });
  layout.y = layout.write(DOSSIER_TITLE.en, layout.left, layout.y, layout.width, 10.5, {
    color: COLORS.muted,
  });
  layout.y = layout.write(
    `生成时间 Generated at: ${formatTime(d.generatedAt)}`,
    layout.left,
    layout.y + layout.size(3),
    layout.width,
    8.4,
  );
  layout.heading({ zh: '一、节点', en: 'Node' });
  layout.fields(nodeFields(d));
  layout.heading({ zh: '二、参与机构', en: 'Organisations' });
  layout.fields(organisationFields(d));
  layout.heading({ zh: '三、算法与标准', en: 'Algorithms and standards' });
  layout.fields(algorithmFields(d));
  layout.heading({ zh: '四、软件', en: 'Software' });
  layout.fields(softwareFields(d));
  layout.heading({ zh: '五、链状态', en: 'Chain statistics' });
  layout.fields(chainFields(d));
  layout.heading({ zh: '六、锚定', en: 'Anchors' });
  layout.fields(
    d.anchors.length > 0
      ? d.anchors.map((a) => ({
          label: { zh: '锚定目标', en: a.targetChainId ?? clip(a.name ?? '', 40) },
          value: anchorValue(a),
        }))
      : [
          {
            label: { zh: '锚定目标', en: 'Targets' },
            value: '未配置 / none configured',
            tone: 'muted' as const,
          },
        ],
  );
  layout.heading({ zh: '七、审计摘要', en: 'Audit summary' });
  layout.fields(auditFields(d));
  if (d.backups) {
    layout.heading({ zh: '八、数据备份', en: 'Backups' });
    layout.fields(backupFields(d.backups));
  }
  layout.closingNote({
    zh: '说明：本材料由节点根据其配置、账本与审计日志生成，供人民法院审查存证平台之用（《人民法院在线诉讼规则》第十七条）；其中的摘要与密钥可与受信任文件、收据及公开核验页面相互印证。',
    en: 'Note: produced by the node from its configuration, ledger and audit log, for a court examining the platform (Online Litigation Rules art. 17). Its digests and keys can be cross-checked against trust files, receipts and the public verification page.',
  });
}

/**
 * The dossier as an A4 PDF of one or more pages; byte-identical for equal input.
 * @throws ValidationError `VALIDATION_FAILED` naming every bad field of the dossier.
 */
export async function renderDossierPdf(dossier: ComplianceDossier): Promise<Buffer> {
  const d = parseComplianceDossier(dossier);
  return renderPdf(
    {
      title: `${DOSSIER_TITLE.zh} ${DOSSIER_TITLE.en}`,
      subject: `${d.node.name} ${d.node.chainId}`,
      creationDate: new Date(Date.parse(d.generatedAt)),
    },
    (layout) => drawDossier(layout, d),
    { onePage: false },
  );
}
