/**
 * The git commit a deployment is made from, for the run record (domain/training/runRecord.ts).
 * The one part of domain/ that reads files: git's own (HEAD, refs), never a process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UNKNOWN_COMMIT } from "./runRecord";

/**
 * The commit HEAD points to in the git checkout holding `from` (walking up to its `.git`), for the
 * run record; `UNKNOWN_COMMIT` outside a checkout (e.g. the npm package). Reads git's files only
 * (HEAD, the ref, packed-refs; a worktree's `.git` file and `commondir`): no `git` process, so it
 * can neither block nor slow the program. Uncommitted changes are not detected.
 * Formats: https://git-scm.com/docs/gitrepository-layout (HEAD, refs, packed-refs, commondir,
 * worktrees), https://git-scm.com/docs/git-worktree (the `.git` file of a linked worktree).
 */
export function gitHead(from: string): string {
    try {
        let dir = path.resolve(from);
        while (!fs.existsSync(path.join(dir, ".git"))) {
            const up = path.dirname(dir);
            if (up === dir) return UNKNOWN_COMMIT;
            dir = up;
        }
        let gitDir = path.join(dir, ".git");
        if (fs.statSync(gitDir).isFile()) gitDir = path.resolve(dir, fs.readFileSync(gitDir, "utf8").replace(/^gitdir:\s*/, "").trim());
        const common = fs.existsSync(path.join(gitDir, "commondir")) ? path.resolve(gitDir, fs.readFileSync(path.join(gitDir, "commondir"), "utf8").trim()) : gitDir;
        const head = fs.readFileSync(path.join(gitDir, "HEAD"), "utf8").trim();
        const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
        if (ref === undefined) return /^[0-9a-f]{40,64}$/.test(head) ? head : UNKNOWN_COMMIT;
        for (const d of [gitDir, common]) {
            const f = path.join(d, ref);
            if (fs.existsSync(f)) return fs.readFileSync(f, "utf8").trim();
        }
        const packed = path.join(common, "packed-refs");
        const line = fs.existsSync(packed) ? fs.readFileSync(packed, "utf8").split("\n").find((l) => l.endsWith(` ${ref}`)) : undefined;
        return line?.split(" ")[0] ?? UNKNOWN_COMMIT;
    } catch {
        return UNKNOWN_COMMIT;
    }
}
