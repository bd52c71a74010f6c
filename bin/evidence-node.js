#!/usr/bin/env node
// Starts the evidence node from the compiled output (`npm run build` first).
'use strict';

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
