import { ledgerContractSuite } from './contract-suite';
import { FakeLedger } from './fake-ledger';

ledgerContractSuite('fake', async () => {
  const ledger = new FakeLedger();
  return { ledger, close: () => ledger.close() };
});
