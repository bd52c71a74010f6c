/**
 * Imported first by run.ts: as bin/evidence-node.js does, the contract library's decorator lines
 * are not the benchmark's output. It logs them when the chaincode is imported, which the
 * verification and replication sections do at load time, before run.ts's own code runs; the
 * in-process ledger threads inherit the setting.
 */

process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'WARNING';
