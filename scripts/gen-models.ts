// Regenerates catalog/models.data.ts from ../shared/miles/models.tsv (the architecture facts of miles'
// model presets). The table is committed so a user's clone works without ../shared;
// test/models.test.ts fails when it no longer matches the TSV (and says to run this script).
import * as fs from "node:fs";
import * as path from "node:path";
import { modelsDataSource, parseModelsTsv } from "../catalog/modelsTsv";
import { modelsExtDataSource } from "../catalog/modelsExt";

const root = path.resolve(__dirname, "..");
const tsv = fs.readFileSync(path.resolve(root, "..", "shared", "miles", "models.tsv"), "utf8");
fs.writeFileSync(path.join(root, "catalog", "models.data.ts"), modelsDataSource(tsv));
// This package's own model facts (new family presets, checkpoint dtype, gated repos), each row with its source.
const ext = fs.readFileSync(path.join(root, "catalog", "models.ext.tsv"), "utf8");
fs.writeFileSync(path.join(root, "catalog", "modelsExt.data.ts"), modelsExtDataSource(ext));
console.log(`wrote catalog/models.data.ts (${parseModelsTsv(tsv).length} presets)`);
