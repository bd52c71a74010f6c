#!/usr/bin/env node
// Starts the evidence node from the compiled output (`npm run build` first).
'use strict';

// The chaincode's contract library logs every decorator at info level on load; the node's own
// logs are the JSON lines of pino. Operators may still raise it explicitly.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL || 'WARNING';

const { main } = require('../dist/gateway/main.js');

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
