/**
 * `atlas tokens`: list, create and revoke the control plane's API tokens, and `atlas
 * tokens hash`, which works offline and makes the entries of a bootstrap tokens file.
 *
 * Invariant: the CLI prints a secret only when it has just been made (once), and writes
 * only digests to files; the rules (strength, digest, file format) are core/tokens.ts's.
 *
 * @module
 */
import { z } from "zod";
import {
  assertStrongSecret,
  generateTokenSecret,
  parseTokensFile,
  Role,
  type TokenFileEntry,
  tokenFileEntry,
  TokenName,
} from "@atlas/core";
import { parseDuration } from "./active.ts";
import { enc, requireArg, type Run } from "./commands.ts";
import { CliError, CliErrorCode } from "./errors.ts";
import { table, when } from "./format.ts";

/** A token as the API shows it (never its secret or digest). */
export const TokenView = z.looseObject({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  source: z.string(),
  createdAt: z.string().optional(),
  createdBy: z.string().optional(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
});
export type TokenView = z.infer<typeof TokenView>;

const TokenList = z.looseObject({ tokens: z.array(TokenView) });
const Created = z.looseObject({ token: TokenView, secret: z.string() });

function _role(run: Run): Role {
  const role = run.flags.role;
  if (role !== Role.admin && role !== Role.reader) {
    throw new CliError(
      `--role must be admin or reader, got ${JSON.stringify(role ?? "")}: see \`atlas ` +
        "tokens create --help`",
    );
  }
  return role;
}

function _name(run: Run): string {
  const name = run.flags.name;
  if (name === undefined || !TokenName.safeParse(name).success) {
    throw new CliError(
      `--name must be 1-100 letters, digits, '_', '.', '@' or '-', got ` +
        `${JSON.stringify(name ?? "")}`,
    );
  }
  return name;
}

async function _readSecret(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CliError(`Cannot read the secret from ${path}: ${(e as Error).message}`, {
      code: CliErrorCode.file,
    });
  }
  const secret = text.replace(/\r?\n$/, "");
  try {
    assertStrongSecret(secret);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  return secret;
}

/** Adds `entry` to the tokens file at `path` (made when missing); refuses a taken name. */
async function _addToFile(path: string, entry: TokenFileEntry): Promise<void> {
  let entries: TokenFileEntry[] = [];
  try {
    entries = parseTokensFile(await Deno.readTextFile(path), path);
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(e.message, { code: CliErrorCode.file });
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (entries.some((e) => e.name === entry.name)) {
    throw new CliError(
      `${path} already has a token named ${JSON.stringify(entry.name)}: choose another ` +
        "--name, or remove that entry first",
      { code: CliErrorCode.conflict },
    );
  }
  const text = JSON.stringify([...entries, entry], null, 2) + "\n";
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** The `tokens` commands by name. */
export const TOKEN_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async tokens(run) {
    const client = await run.client();
    const { tokens } = await client.json(TokenList, "GET", "/v1/tokens");
    if (run.flags.json) return await run.print(JSON.stringify({ tokens }, null, 2));
    await run.print(table(
      ["ID", "NAME", "ROLE", "SOURCE", "CREATED", "BY", "EXPIRES", "REVOKED"],
      tokens.map((t) => [
        t.id,
        t.name,
        t.role,
        t.source,
        t.createdAt ? when(t.createdAt) : "-",
        t.createdBy ?? "-",
        t.expiresAt ? when(t.expiresAt) : "-",
        t.revokedAt ? `${when(t.revokedAt)} by ${t.revokedBy ?? "?"}` : "-",
      ]),
    ));
  },

  async "tokens create"(run) {
    const body = {
      name: _name(run),
      role: _role(run),
      ...(run.flags.ttl !== undefined
        ? { ttlSeconds: Math.ceil(parseDuration(run.flags.ttl, "--ttl") / 1000) }
        : {}),
    };
    const client = await run.client();
    const { token, secret } = await client.json(Created, "POST", "/v1/tokens", body);
    if (run.flags.json) return await run.print(JSON.stringify({ token, secret }, null, 2));
    const expires = token.expiresAt ? `, expiring at ${token.expiresAt}` : "";
    await run.print(
      `created token ${token.name} (${token.id}) with role ${token.role}${expires}\n` +
        `secret, shown only now (Atlas keeps only its SHA-256):\n${secret}`,
    );
  },

  async "tokens revoke"(run) {
    const ref = requireArg(run, 0, "token id or name");
    const client = await run.client();
    const token = await client.json(TokenView, "DELETE", `/v1/tokens/${enc(ref)}`);
    if (run.flags.json) return await run.print(JSON.stringify(token, null, 2));
    await run.print(
      `revoked token ${token.name} (${token.id}) at ${token.revokedAt ?? "?"}; it is ` +
        "refused from now on",
    );
  },

  async "tokens hash"(run) {
    const name = _name(run);
    const role = _role(run);
    const generated = run.flags.secretFile === undefined;
    const secret = generated
      ? generateTokenSecret()
      : await _readSecret(run.path(run.flags.secretFile!));
    const entry = tokenFileEntry(name, role, secret);
    if (run.flags.out !== undefined) await _addToFile(run.path(run.flags.out), entry);
    if (run.flags.json) {
      return await run.print(JSON.stringify({ entry, ...(generated ? { secret } : {}) }, null, 2));
    }
    const lines = [
      run.flags.out !== undefined
        ? `added ${name} (${role}) to ${run.flags.out}`
        : JSON.stringify(entry),
    ];
    if (generated) {
      lines.push(`secret, shown only now (the file keeps only its SHA-256):\n${secret}`);
    }
    await run.print(lines.join("\n"));
  },
};
