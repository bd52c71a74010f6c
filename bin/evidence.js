#!/usr/bin/env node
'use strict';
require('../dist/verifier-cli/main.js').run();
