/**
 * The chaincode package: the contracts Fabric's contract runtime (and the embedded ledger) loads.
 */

import { EvidenceContract } from './evidence-contract';

export { EvidenceContract } from './evidence-contract';

/** Read by fabric-chaincode-node's bootstrap: the contracts of this chaincode. */
export const contracts = [EvidenceContract];
