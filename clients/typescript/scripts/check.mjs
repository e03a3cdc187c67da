// `npm run check`: (a) src/schema.d.ts is what openapi-typescript makes of ../../openapi.yaml
// today, and (b) the client and the example type-check against it. Exits non-zero on failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error) {
    console.error(`${command}: ${result.error.message} (run \`npm ci\` in clients/typescript)`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const dir = mkdtempSync(join(tmpdir(), "eservices-schema-"));
let fresh;
try {
  const file = join(dir, "schema.d.ts");
  const generated = spawnSync(bin("openapi-typescript"), ["../../openapi.yaml", "--output", file], {
    cwd: root,
    stdio: "inherit",
  });
  if (generated.error || generated.status !== 0) {
    console.error("openapi-typescript failed on ../../openapi.yaml (run `npm ci` in clients/typescript)");
  } else {
    fresh = readFileSync(file, "utf8");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (fresh === undefined) process.exit(1);
if (fresh !== readFileSync(join(root, "src", "schema.d.ts"), "utf8")) {
  console.error("schema.d.ts is stale: run `npm run generate` in clients/typescript");
  process.exit(1);
}
console.log("schema.d.ts matches openapi.yaml");

run(bin("tsc"), ["--noEmit", "-p", "."]);
console.log("tsc: the client and the example type-check against openapi.yaml");
