import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ROOT } from "./harness";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const workflowFiles = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const load = (f: string) => parse(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as any;

/** Every `uses:` of a workflow, with the job it is in. */
function uses(doc: any): Array<{ job: string; ref: string }> {
    return Object.entries(doc.jobs as Record<string, any>).flatMap(([job, j]) => (j.steps ?? []).filter((s: any) => s.uses).map((s: any) => ({ job, ref: s.uses as string })));
}

describe("GitOps workflows", () => {
    it("has the pull-request and deploy workflows", () => {
        assert.ok(workflowFiles.includes("pull-request.yml"));
        assert.ok(workflowFiles.includes("deploy.yml"));
    });

    for (const f of workflowFiles) {
        describe(f, () => {
            const doc = load(f);
            const text = fs.readFileSync(path.join(WORKFLOWS, f), "utf8");

            it("parses, with triggers and jobs", () => {
                assert.ok(doc.on, "no `on:`");
                assert.ok(Object.keys(doc.jobs ?? {}).length > 0, "no jobs");
            });

            it("references only actions pinned by full commit SHA, the release tag in a comment", () => {
                // A tag can be moved to other code; a commit cannot (GitHub's security hardening guide for Actions).
                for (const u of uses(doc)) assert.match(u.ref, /^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/, `${u.job}: ${u.ref} is not pinned by commit SHA`);
                for (const line of text.split("\n").filter((l) => /^\s*-?\s*uses:/.test(l))) assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$/, `${line.trim()}: no "# vX.Y.Z" tag comment`);
            });

            it("grants least privilege: read-only by default, write scopes only on the jobs that need them", () => {
                assert.deepEqual(doc.permissions, { contents: "read" }, "top-level permissions must be contents: read");
                for (const [name, job] of Object.entries(doc.jobs as Record<string, any>)) {
                    assert.ok(job.permissions, `job ${name} has no permissions block`);
                    assert.notEqual(job.permissions, "write-all");
                    const usesAws = (job.steps ?? []).some((s: any) => String(s.uses ?? "").startsWith("aws-actions/configure-aws-credentials"));
                    assert.equal(job.permissions["id-token"] === "write", usesAws, `job ${name}: id-token: write must go with (and only with) OIDC role assumption`);
                }
            });

            it("uses no long-lived AWS keys", () => {
                const text = fs.readFileSync(path.join(WORKFLOWS, f), "utf8");
                assert.doesNotMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id/);
            });
        });
    }

    it("previews on pull requests with a PR comment and deploys on main with a per-stack environment", () => {
        const pr = load("pull-request.yml");
        assert.deepEqual(Object.keys(pr.on), ["pull_request"]);
        const preview = uses(pr).find((u) => u.ref.startsWith("pulumi/actions@"));
        assert.ok(preview);
        const step = pr.jobs[preview.job].steps.find((s: any) => s.uses === preview.ref);
        assert.equal(step.with.command, "preview");
        assert.equal(step.with["comment-on-pr"], true);
        const dep = load("deploy.yml");
        assert.deepEqual(dep.on.push.branches, ["main"]);
        const upJob = Object.values(dep.jobs as Record<string, any>).find((j) => (j.steps ?? []).some((s: any) => s.with?.command === "up"));
        assert.ok(upJob, "no job runs pulumi up");
        assert.equal(upJob.environment, "${{ matrix.stack }}", "pulumi up must run in the stack's GitHub environment (the approval gate for prod)");
    });

    it("deploys only the stacks listed in deploy/deployable-stacks, and none of the example stack files", () => {
        const dep = load("deploy.yml");
        const list = dep.jobs.stacks.steps.find((s: any) => s.id === "list");
        assert.match(list.run, /deploy\/deployable-stacks/);
        assert.doesNotMatch(list.run, /ls stacks\//, "must not list every stack file");
        assert.equal(dep.jobs.up.if, "needs.stacks.outputs.stacks != '[]'");
        const listed = fs
            .readFileSync(path.join(ROOT, "deploy", "deployable-stacks"), "utf8")
            .split("\n")
            .map((l) => l.replace(/#.*/, "").trim())
            .filter(Boolean);
        const examples = fs.readdirSync(path.join(ROOT, "stacks")).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter(Boolean);
        assert.ok(examples.length > 0);
        for (const e of examples) assert.ok(!listed.includes(e!), `example stack ${e} must not be deployable`);
    });

    it("ships a Pulumi Kubernetes Operator Stack that never destroys on deletion", () => {
        const doc = parse(fs.readFileSync(path.join(ROOT, "deploy", "pulumi-kubernetes-operator", "stack.yaml"), "utf8")) as any;
        assert.equal(doc.apiVersion, "pulumi.com/v1");
        assert.equal(doc.kind, "Stack");
        assert.equal(doc.spec.destroyOnFinalize, false);
        assert.ok(doc.spec.projectRepo && doc.spec.branch && doc.spec.stack);
    });
});
