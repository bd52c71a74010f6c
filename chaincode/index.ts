/**
 * The chaincode package: the contracts Fabric's contract runtime (and the embedded ledger) loads.
 */

import { AgreementContract } from './agreement-contract';
import { AnchorContract } from './anchor-contract';
import { EvidenceContract } from './evidence-contract';

export { AgreementContract } from './agreement-contract';
export { AnchorContract } from './anchor-contract';
export { EvidenceContract } from './evidence-contract';

/** Read by fabric-chaincode-node's bootstrap: the contracts of this chaincode. */
export const contracts = [EvidenceContract, AnchorContract, AgreementContract];
