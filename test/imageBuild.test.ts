/**
 * The in-account EFA image build (issue 21, domain/training/imageBuild.ts): the trigger Job's script
 * run by /bin/sh against a stand-in `aws` that plays ECR and CodeBuild, the buildspec, and the Job
 * Pulumi awaits. The build itself (Docker in CodeBuild) runs only in a real account.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { EFA_BUILD_TRIGGER_SCRIPT, efaBuildSpec, efaBuildTriggerJob } from "../domain/training/imageBuild";
import { EFA_BUILD_WAIT_MINUTES } from "../catalog/imageBuild";

/**
 * `aws` as the script calls it. State files: pushed (the tag is in ECR), last (the project's latest
 * build id), status-<id> (IN_PROGRESS polls left, then the final status).
 */
const STUB = `#!/bin/sh
echo "$*" >> "$STATE/log"
case "$1 $2" in
  "ecr describe-images") [ -f "$STATE/pushed" ] && exit 0; echo "ImageNotFoundException" >&2; exit 254 ;;
  "codebuild list-builds-for-project") cat "$STATE/last" 2>/dev/null || echo None ;;
  "codebuild start-build") echo b-new > "$STATE/last"; echo "$FINAL" > "$STATE/final-b-new"; echo 1 > "$STATE/polls-b-new"; echo b-new ;;
  "codebuild batch-get-builds")
    id=$4; left=$(cat "$STATE/polls-$id" 2>/dev/null || echo 0)
    if [ "$left" -gt 0 ]; then echo $((left - 1)) > "$STATE/polls-$id"; echo IN_PROGRESS; exit 0; fi
    final=$(cat "$STATE/final-$id"); [ "$final" = SUCCEEDED ] && touch "$STATE/pushed"; echo "$final" ;;
  *) echo "unexpected aws $*" >&2; exit 2 ;;
esac
`;

function run(setup: (state: string) => void, final = "SUCCEEDED") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "efa-build-"));
    const bin = path.join(dir, "bin");
    const state = path.join(dir, "state");
    fs.mkdirSync(bin);
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(bin, "aws"), STUB, { mode: 0o755 });
    setup(state);
    const r = spawnSync("/bin/sh", ["-c", EFA_BUILD_TRIGGER_SCRIPT], {
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/bin:/bin`, STATE: state, FINAL: final, PROJECT: "miles-efa-prod", REPOSITORY_NAME: "miles-cluster/prod/miles-efa", IMAGE_TAG: "v0.1.0-efa1.49.0", MILES_IMAGE: "radixark/miles:v0.1.0", POLL_SECONDS: "0" },
    });
    const log = fs.existsSync(path.join(state, "log")) ? fs.readFileSync(path.join(state, "log"), "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, log, starts: log.filter((l) => l.startsWith("codebuild start-build")) };
}

describe("EFA image build trigger (issue 21): the Job Pulumi awaits ends Complete only once the tag is in ECR", () => {
    it("the tag is already pushed: exits 0 without starting a build", () => {
        const r = run((s) => fs.writeFileSync(path.join(s, "pushed"), ""));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.starts, []);
    });

    it("not pushed: starts one build with the tag and base image, polls until it succeeds, exits 0", () => {
        const r = run(() => {});
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.starts.length, 1);
        assert.match(r.starts[0], /--project-name miles-efa-prod /);
        assert.match(r.starts[0], /name=IMAGE_TAG,value=v0\.1\.0-efa1\.49\.0,type=PLAINTEXT name=MILES_IMAGE,value=radixark\/miles:v0\.1\.0,type=PLAINTEXT/);
        assert.ok(r.log.filter((l) => l.startsWith("codebuild batch-get-builds --ids b-new")).length >= 2, "polled while IN_PROGRESS");
    });

    it("the build fails: exits 1 (the Job fails, `pulumi up` stops) and says where the build log is", () => {
        const r = run(() => {}, "FAILED");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /b-new ended FAILED .*aws logs tail \/aws\/codebuild\/miles-efa-prod/);
    });

    it("a build of the project already running (a retried pod, a second pulumi up): waits for it instead of starting another", () => {
        const r = run((s) => {
            fs.writeFileSync(path.join(s, "last"), "b-old\n");
            fs.writeFileSync(path.join(s, "polls-b-old"), "2");
            fs.writeFileSync(path.join(s, "final-b-old"), "SUCCEEDED");
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.starts, []);
        // Negative control: the last build already ended without pushing: a new one is started.
        const again = run((s) => {
            fs.writeFileSync(path.join(s, "last"), "b-old\n");
            fs.writeFileSync(path.join(s, "final-b-old"), "FAILED");
        });
        assert.equal(again.status, 0, again.stderr);
        assert.equal(again.starts.length, 1);
    });

    it("the buildspec carries the Dockerfile byte for byte and builds FROM $MILES_IMAGE, pushing $REPOSITORY_URI:$IMAGE_TAG", () => {
        const dockerfile = fs.readFileSync(path.join(__dirname, "..", "images", "miles-efa", "Dockerfile"), "utf8");
        const spec = parseYaml(efaBuildSpec(dockerfile)) as { version: number; phases: Record<string, { commands: string[] }> };
        assert.equal(spec.version, 0.2);
        const cmds = [...spec.phases.pre_build.commands, ...spec.phases.build.commands];
        const b64 = /^echo '([A-Za-z0-9+/=]+)' \| base64 -d > \/tmp\/miles-efa\/Dockerfile$/.exec(cmds.find((c) => c.includes("base64 -d"))!)?.[1];
        assert.equal(Buffer.from(b64!, "base64").toString("utf8"), dockerfile);
        assert.ok(cmds.some((c) => c.includes('--build-arg "MILES_IMAGE=$MILES_IMAGE"') && c.includes('-t "$REPOSITORY_URI:$IMAGE_TAG"')));
        assert.ok(cmds.includes('docker push "$REPOSITORY_URI:$IMAGE_TAG"'));
        // The Dockerfile reads the build arg it is given.
        assert.match(dockerfile, /^ARG MILES_IMAGE=/m);
    });

    it("the Job: kube-system, bounded by the build's queue and run time (activeDeadlineSeconds = Pulumi's wait)", () => {
        const job = efaBuildTriggerJob({ project: "p", repositoryName: "r", image: { tag: "t", base: "b" }, serviceAccountName: "sa", region: "us-east-1", hash: "h" });
        assert.equal(job.metadata.namespace, "kube-system");
        assert.equal(job.spec.activeDeadlineSeconds, EFA_BUILD_WAIT_MINUTES * 60);
    });
});
