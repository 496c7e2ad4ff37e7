// Writes docs/config-reference.md and schema/stack-config.schema.json from the zod schemas.
import * as fs from "node:fs";
import * as path from "node:path";
import { configReferenceMarkdown, stackConfigJsonSchemaText } from "../config/reference";

const root = path.resolve(__dirname, "..");
fs.mkdirSync(path.join(root, "docs"), { recursive: true });
fs.mkdirSync(path.join(root, "schema"), { recursive: true });
fs.writeFileSync(path.join(root, "docs", "config-reference.md"), configReferenceMarkdown());
fs.writeFileSync(path.join(root, "schema", "stack-config.schema.json"), stackConfigJsonSchemaText());
console.log("wrote docs/config-reference.md and schema/stack-config.schema.json");
