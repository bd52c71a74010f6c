// Prints the closing line CI reads, `N passed, N failed`, from vitest's JSON report. Steps that
// run before vitest (build, type check, lint) count as one failed test when the command failed
// without producing a fresh report.
'use strict';
const fs = require('node:fs');

const status = Number(process.argv[2] ?? 1);
const reportPath = 'test-artifacts/vitest.json';
let passed = 0;
let failed = 0;
let fresh = false;
try {
  const stat = fs.statSync(reportPath);
  fresh =
    Date.now() - stat.mtimeMs < 6 * 60 * 60 * 1000 &&
    stat.mtimeMs >= Number(process.env.TEST_STARTED_AT ?? 0);
  if (fresh) {
    const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
    passed = report.numPassedTests;
    failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
    failed += (report.testResults ?? []).filter(
      (r) => r.status === 'failed' && r.assertionResults.length === 0,
    ).length;
  }
} catch {
  fresh = false;
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
