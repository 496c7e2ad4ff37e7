/**
 * Credentials written where plaintext goes: free-form env vars, extra argv and URLs end up in the
 * stack file, the RayJob manifest, `kubectl describe` and the Pulumi state in clear text. These
 * checks recognise the common credential names and shapes and point to the secret-typed fields
 * (`training.secretEnv`, `training.wandb.apiKey`, `training.hfToken`) instead. Pure; the patterns
 * are fixed here and never built from input.
 */

/**
 * Variable names that carry a credential: `*_TOKEN`, `*_KEY` (but not `*_KEY_ID`-style public ids
 * other than AWS's), `*_SECRET*`, `*_PASSWORD`, `*_CREDENTIALS`, and the AWS pair. A name is
 * matched on `_`-separated words so `TOKENIZERS_PARALLELISM` or `KEYS_DIR` are not credentials.
 */
const CREDENTIAL_NAME_WORDS = ["TOKEN", "KEY", "APIKEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS", "CREDENTIAL"];
/** Names that look like credentials but are not secret (public identifiers, paths, switches). */
const NOT_CREDENTIALS = new Set(["HF_HUB_DISABLE_IMPLICIT_TOKEN", "TOKENIZERS_PARALLELISM"]);
const AWS_CREDENTIAL_NAMES = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]);

export function isCredentialName(name: string): boolean {
    const upper = name.toUpperCase();
    if (AWS_CREDENTIAL_NAMES.has(upper)) return true;
    if (NOT_CREDENTIALS.has(upper)) return false;
    const words = upper.split(/_+/).filter((w) => w !== "");
    // `*_KEY_ID`, `*_KEY_FILE`, `*_TOKEN_PATH`: where a credential is, not the credential.
    const last = words[words.length - 1];
    if (["ID", "FILE", "PATH", "DIR", "URL", "ENDPOINT", "NAME", "LENGTH", "LEN", "TYPE"].includes(last ?? "")) return false;
    return words.some((w) => CREDENTIAL_NAME_WORDS.includes(w));
}

/**
 * Well-known credential shapes (prefixes documented by their issuers): AWS access key ids
 * (AKIA/ASIA + 16), Hugging Face `hf_`, GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`,
 * OpenAI/Anthropic-style `sk-`, Slack `xox?-`, W&B-style 40-hex keys after `--wandb-key`, JWTs and
 * PEM private keys.
 */
const CREDENTIAL_SHAPES: ReadonlyArray<{ what: string; test: (v: string) => boolean }> = [
    { what: "an AWS access key id", test: (v) => /(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}($|[^A-Z0-9])/.test(v) },
    { what: "a Hugging Face token", test: (v) => /(^|[^A-Za-z0-9])hf_[A-Za-z0-9]{30,}/.test(v) },
    { what: "a GitHub token", test: (v) => /(^|[^A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/.test(v) },
    { what: "an API key (sk-...)", test: (v) => /(^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/.test(v) },
    { what: "a Slack token", test: (v) => /(^|[^A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}/.test(v) },
    { what: "a JSON Web Token", test: (v) => /(^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/.test(v) },
    { what: "a private key", test: (v) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) },
];

/** `scheme://user:password@host`: a password inside a URL. */
export function urlWithPassword(v: string): boolean {
    const m = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#@\s]*)@/.exec(v);
    return m !== null && m[1].includes(":") && m[1].split(":")[1] !== "";
}

/** What kind of credential the value looks like, if any. */
export function credentialShape(v: string): string | undefined {
    if (urlWithPassword(v)) return "a URL with a password (user:password@host)";
    return CREDENTIAL_SHAPES.find((s) => s.test(v))?.what;
}

/**
 * The train.py flags whose value IS a credential, read from what each flag is (its help and type in
 * shared/miles/flags.tsv and sglang-server-flags.tsv), not from a word in its name: miles' `--wandb-key`
 * (W&B API key, miles/utils/arguments.py add_wandb_arguments) and SGLang's `--api-key`,
 * `--admin-api-key` and `--ssl-keyfile-password` (sglang python/sglang/srt/server_args.py ServerArgs),
 * which miles passes through as `--sglang-*` (and `--eval-sglang-*` for the eval fleet). Flags such as
 * `--rollout-stop-token-ids`, `--reward-key`, `--metadata-key`, `--tool-key` or `--moe-token-drop-policy`
 * name dataset fields, token ids or policies and are not credentials (test/credentials.test.ts checks the
 * list against the tables).
 */
const SGLANG_CREDENTIAL_FLAGS = ["api-key", "admin-api-key", "ssl-keyfile-password"];
export const CREDENTIAL_FLAGS: ReadonlySet<string> = new Set([
    "--wandb-key",
    ...SGLANG_CREDENTIAL_FLAGS.flatMap((f) => [`--sglang-${f}`, `--eval-sglang-${f}`]),
]);

/** Whether a train.py flag (`--x` or `--x=v`) takes a credential as its value. */
export function isCredentialFlag(flag: string): boolean {
    return CREDENTIAL_FLAGS.has(flag.split("=")[0]);
}

export const USE_SECRET_ENV =
    "put it in training.secretEnv instead (`pulumi config set --secret --path 'miles-cluster:training.secretEnv.<NAME>' <value>`): it reaches the pods from a Kubernetes Secret and stays encrypted in the stack file and state";
