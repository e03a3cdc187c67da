// Lints the contract with Redocly's recommended rules (../../redocly.yaml) and fails on any
// problem, warnings included: `redocly lint` itself exits 0 when it finds only warnings.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const redocly = path.join(here, "node_modules", ".bin", "redocly");
const run = spawnSync(
  redocly,
  ["lint", "openapi.yaml", "--config", "redocly.yaml", "--format", "json", "--max-problems", "10000"],
  { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
);
if (run.error) {
  console.error(`cannot run redocly (npm ci in tools/openapi-lint first): ${run.error.message}`);
  process.exit(2);
}
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`redocly did not answer with JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  process.exit(2);
}
const problems = report.problems ?? [];
for (const problem of problems) {
  const where = (problem.location ?? []).map((l) => l.pointer).join(", ");
  console.error(`${problem.severity} ${problem.ruleId}: ${problem.message} at ${where}`);
}
const { errors = 0, warnings = 0 } = report.totals ?? {};
if (problems.length > 0 || errors > 0 || warnings > 0) {
  console.error(`openapi.yaml: ${errors} errors and ${warnings} warnings under Redocly's recommended rules`);
  process.exit(1);
}
console.log("openapi.yaml passes Redocly's recommended rules: no errors, no warnings");
