/**
 * The algorithms and standards of this software, each with what it is used for: the compliance
 * dossier lists them (core/dossier.ts), and court-facing documents name a signature algorithm by
 * them (documents/labels.ts). A module of its own, so the public page's bundle takes this list
 * without the dossier's schema.
 */

export interface KnownAlgorithm {
  /** Stable id, e.g. `sha256`, `sm3`, `ed25519`, `ecdsa-p256-sha256`, `sm2`, `merkle`. */
  readonly id: string;
  readonly name: string;
  /** The standard that defines it, e.g. `FIPS 180-4`. */
  readonly standard: string;
  /** What the node uses it for. */
  readonly purpose: string;
}

/**
 * The algorithms and standards of this software, for the gateway to list (marking `inUse`):
 * SHA-256 and SM3 digests, RFC 9162 Merkle trees, RFC 8785 canonical JSON, Ed25519 and ECDSA P-256
 * signatures, SM2 (node keys of `sm2-sm3`, and Fabric networks that use national (GM)
 * cryptography), and RFC 3161 time stamps of a trusted authority.
 */
export const KNOWN_ALGORITHMS: readonly KnownAlgorithm[] = [
  {
    id: 'sha256',
    name: 'SHA-256',
    standard: 'FIPS 180-4',
    purpose: '主摘要、默克尔树与区块哈希 / primary digest, Merkle trees, block hashes',
  },
  {
    id: 'sm3',
    name: 'SM3',
    standard: 'GB/T 32905-2016',
    purpose: '国密摘要，与 SHA-256 并存 / SM3 digest alongside SHA-256',
  },
  {
    id: 'merkle',
    name: 'Merkle tree',
    standard: 'RFC 9162 §2.1',
    purpose: '批次与区块包含证明 / batch and block inclusion proofs',
  },
  {
    id: 'canonical-json',
    name: 'Canonical JSON',
    standard: 'RFC 8785 (JCS)',
    purpose: '签名与哈希的规范字节 / canonical bytes for hashing and signing',
  },
  {
    id: 'ed25519',
    name: 'Ed25519',
    standard: 'RFC 8032',
    purpose: '嵌入式账本区块签名 / embedded ledger block signatures',
  },
  {
    id: 'ecdsa-p256-sha256',
    name: 'ECDSA P-256 / SHA-256',
    standard: 'FIPS 186-4',
    purpose: 'Fabric 身份与背书签名 / Fabric identities and endorsements',
  },
  {
    id: 'sm2',
    name: 'SM2',
    standard: 'GB/T 32918-2016 / GM/T 0003-2012',
    purpose:
      '国密签名：嵌入式账本区块签名（SM2 节点密钥）及使用国密的 Fabric 网络 / GM signatures: ' +
      'embedded ledger block signatures (SM2 node keys) and Fabric networks that use them',
  },
  {
    id: 'rfc3161',
    name: 'Trusted time stamps',
    standard: 'RFC 3161 / GB/T 20520-2006',
    purpose:
      '可信时间戳机构为区块哈希加盖时间戳（RSA、ECDSA P-256 或 SM2 签名）/ a trusted ' +
      'time-stamp authority stamps block hashes (RSA, ECDSA P-256 or SM2 signatures)',
  },
];

/**
 * The {@link KNOWN_ALGORITHMS} entry of a signature algorithm of receipts and trust files
 * (`sm2-sm3` is SM2's); `undefined` for one it does not list.
 */
export function knownSignatureAlgorithm(algorithm: string): KnownAlgorithm | undefined {
  const id = algorithm === 'sm2-sm3' ? 'sm2' : algorithm;
  return KNOWN_ALGORITHMS.find((known) => known.id === id);
}
