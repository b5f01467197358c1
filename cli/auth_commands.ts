/**
 * `atlas auth init|creds` (local, offline: the operator, accounts and credentials are
 * made here with `@atlas/core`) and `atlas agents enroll|revoke` (through the API).
 *
 * Invariant: secrets (seeds, `.creds`) are written mode 0600 and never over an existing
 * file; `auth init` refuses a directory that already holds an operator.
 *
 * @module
 */
import { z } from "zod";
import { enc, requireArg, type Run } from "./commands.ts";
import { CliError, CliErrorCode } from "./errors.ts";

/** The roles `atlas auth creds` issues (core/permissions.ts decides what each may do). */
export const CREDS_ROLES = "control, coordinator, agent, reader or leaf (a leaf node's link)";

const EnrolResult = z.object({
  region: z.string(),
  agent: z.string(),
  publicKey: z.string(),
  creds: z.string(),
});
const RevokeResult = z.object({
  region: z.string(),
  agent: z.string(),
  revoked: z.array(z.string()),
});

/** Writes `text` to `path`, mode `mode`, refusing to replace a file. */
async function _writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true, mode });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    throw new CliError(
      `${path} already exists; refusing to overwrite it: choose another path or move the ` +
        "old file away first",
      { code: CliErrorCode.conflict },
    );
  }
}

function _dir(run: Run): string {
  if (!run.flags.dir) {
    throw new CliError("Missing --dir <auth directory> (made by `atlas auth init --dir <dir>`)");
  }
  return run.path(run.flags.dir);
}

/** Handlers of the auth commands, by `run` key. */
export const AUTH_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async "auth init"(run) {
    const dir = _dir(run);
    // Loaded only here: no other command needs the JWT and nkey libraries.
    const core = await import("@atlas/core");
    const { AuthFiles } = core;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await Deno.stat(`${dir}/${AuthFiles.operatorJwt}`);
      throw new CliError(
        `${dir} already holds an operator (${AuthFiles.operatorJwt}): a new one would lock ` +
          "out every credential issued so far; choose another directory",
        { code: CliErrorCode.conflict },
      );
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const setup = await core.createAuthSetup();
    const resolverDir = run.flags.resolverDir ?? "/var/lib/nats/jwt";
    const control = await core.issueCreds(core.issuerOf(setup), { kind: "control" });
    const secret = 0o600;
    const open = 0o644;
    await _writeNew(`${dir}/${AuthFiles.operatorJwt}`, setup.operator.jwt + "\n", open);
    await _writeNew(`${dir}/${AuthFiles.operatorSeed}`, setup.operator.seed + "\n", secret);
    await _writeNew(`${dir}/${AuthFiles.systemJwt}`, setup.system.jwt + "\n", open);
    await _writeNew(`${dir}/${AuthFiles.atlasJwt}`, setup.atlas.jwt + "\n", open);
    await _writeNew(`${dir}/${AuthFiles.atlasSeed}`, setup.atlas.seed + "\n", secret);
    await _writeNew(`${dir}/${AuthFiles.systemCreds}`, setup.system.userCreds, secret);
    await _writeNew(`${dir}/${AuthFiles.leafSystemCreds}`, setup.system.leafCreds, secret);
    await _writeNew(`${dir}/${AuthFiles.controlCreds}`, control.creds, secret);
    await _writeNew(
      `${dir}/${AuthFiles.controlKeys}`,
      JSON.stringify(core.controlAuthKeys(setup), null, 2) + "\n",
      secret,
    );
    await _writeNew(
      `${dir}/${AuthFiles.serverConfig}`,
      core.serverAuthConfig(setup, { resolverDir }),
      open,
    );
    await run.print(
      run.flags.json
        ? JSON.stringify({ dir, operator: setup.operator.publicKey })
        : `wrote ${dir}: include ${dir}/${AuthFiles.serverConfig} in every nats-server ` +
          `config, then start the control plane with --auth-dir ${dir}`,
    );
  },

  async "auth creds"(run) {
    const dir = _dir(run);
    if (!run.flags.role) {
      throw new CliError(`Missing --role: ${CREDS_ROLES}`);
    }
    if (!run.flags.out) throw new CliError("Missing --out <file.creds>");
    const core = await import("@atlas/core");
    const role = (() => {
      try {
        return core.atlasRole(run.flags.role!, {
          region: run.flags.region,
          agent: run.flags.agent,
        });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    })();
    let keys;
    try {
      keys = core.ControlAuthKeys.parse(
        JSON.parse(await Deno.readTextFile(`${dir}/${core.AuthFiles.controlKeys}`)),
      );
    } catch (e) {
      throw new CliError(
        `Cannot read ${dir}/${core.AuthFiles.controlKeys} (${(e as Error).message}): ` +
          "make the directory with `atlas auth init --dir <dir>`",
      );
    }
    const issued = await core.issueCreds(
      { accountPublicKey: keys.accountPublicKey, signingSeed: keys.accountSigningSeed },
      role,
    );
    const out = run.path(run.flags.out);
    await _writeNew(out, issued.creds, 0o600);
    // A leaf's link needs one more line on the hub and on the leaf (README, leaf nodes).
    const serverConfig = role.kind === "leaf"
      ? core.leafJetStreamConfig(keys.accountPublicKey)
      : undefined;
    await run.print(
      run.flags.json
        ? JSON.stringify({
          file: out,
          name: issued.name,
          publicKey: issued.publicKey,
          ...(serverConfig ? { account: keys.accountPublicKey, serverConfig } : {}),
        })
        : `wrote ${run.flags.out} for ${issued.name} (${issued.publicKey})` +
          (serverConfig
            ? `\nbind it on each leaf node as the remote of account ${keys.accountPublicKey}` +
              ` (and SYS with ${dir}/${core.AuthFiles.leafSystemCreds}),` +
              ` and add to every hub and leaf node of the region:\n  ${serverConfig}`
            : ""),
    );
  },

  async "agents enroll"(run) {
    const region = requireArg(run, 0, "region");
    const id = requireArg(run, 1, "agent id");
    if (!run.flags.out) throw new CliError("Missing --out <agent.creds>");
    const out = run.path(run.flags.out);
    const client = await run.client();
    const res = await client.json(
      EnrolResult,
      "POST",
      `/v1/agents/${enc(region)}/${enc(id)}/credentials`,
    );
    await _writeNew(out, res.creds, 0o600);
    await run.print(
      run.flags.json
        ? JSON.stringify({ region, agent: id, publicKey: res.publicKey, file: out })
        : `enrolled ${region}/${id} (${res.publicKey}): wrote ${run.flags.out}; set ` +
          `"credentials" in its agent.json to that file`,
    );
  },

  async "agents revoke"(run) {
    const region = requireArg(run, 0, "region");
    const id = requireArg(run, 1, "agent id");
    const client = await run.client();
    const res = await client.json(
      RevokeResult,
      "DELETE",
      `/v1/agents/${enc(region)}/${enc(id)}/credentials`,
    );
    if (run.flags.json) return await run.print(JSON.stringify(res, null, 2));
    await run.print(
      `revoked ${res.revoked.length} key(s) of ${region}/${id}: the servers drop it now`,
    );
  },
};
