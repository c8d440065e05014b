// Terraform format check with HCL's own formatter (hclwrite, the code behind `terraform fmt`,
// built to WASM by @cdktf/hcl-tools): no terraform binary needed.
//
//   node terraform/tools/hcl_format.mjs --check   # list the .tf files it would change; exit 1 if any
//   node terraform/tools/hcl_format.mjs           # rewrite those files in place
//
// Without file arguments it walks terraform/ (skipping .terraform caches and node_modules);
// with them (pre-commit passes the staged files) it formats just those.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { format } from "@cdktf/hcl-tools";

const TERRAFORM = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIPPED_DIRS = new Set([".terraform", "node_modules"]);

/** Every .tf file under `dir`, sorted, skipping Terraform's caches and node_modules. */
function tfFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) found.push(...tfFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".tf")) found.push(path);
  }
  return found.sort();
}

async function main(args) {
  const check = args.includes("--check");
  const named = args.filter((arg) => arg !== "--check").map((arg) => resolve(arg));
  const files = named.length > 0 ? named : tfFiles(TERRAFORM);
  const changed = [];
  for (const path of files) {
    const source = readFileSync(path, "utf8");
    let formatted;
    try {
      formatted = await format(source);
    } catch (error) {
      console.error(`${relative(process.cwd(), path)}: HCL does not parse: ${error}`);
      process.exitCode = 2;
      continue;
    }
    if (formatted === source) continue;
    changed.push(relative(process.cwd(), path));
    if (!check) writeFileSync(path, formatted);
  }
  if (changed.length > 0) {
    const verb = check ? "not formatted as hclwrite writes it (run without --check)" : "rewritten";
    console.error(`${changed.length} .tf file(s) ${verb}:\n  ${changed.join("\n  ")}`);
    if (check) process.exitCode = 1;
  }
  // The WASM runtime keeps the event loop alive: leave once the files are done.
  process.exit(process.exitCode ?? 0);
}

await main(process.argv.slice(2));
