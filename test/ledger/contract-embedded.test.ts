/** The shared ledger contract suite, run against the embedded LevelDB ledger. */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { ledgerContractSuite } from '../gateway/contract-suite';

ledgerContractSuite('embedded ledger', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'contract-embedded-'));
  const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
  return {
    ledger,
    close: async () => {
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
