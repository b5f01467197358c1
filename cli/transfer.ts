/**
 * `atlas export` and `atlas import`: configs (content type, description, schema) and every
 * version's content and message, moved between installations as JSON files.
 *
 * Import publishes the versions in order, so they get the target's signatures, the
 * importing token as author and new timestamps (the file keeps the originals); it
 * refuses a config that already has versions unless `--force`, which appends after them.
 *
 * @module
 */
import { z } from "zod";
import { enc, requireArg, type Run } from "./commands.ts";
import { CliError, CliErrorCode } from "./errors.ts";
import { short } from "./format.ts";
import { ConfigList, ConfigRecord, VersionList, VersionRecord } from "./schemas.ts";
import type { ApiClient } from "./client.ts";

/** Format marker of export files. */
export const EXPORT_FORMAT = "atlas-export/1";

/** One version in an export file. */
export const ExportedVersion = z.object({
  version: z.number().int().positive(),
  message: z.string(),
  author: z.string(),
  createdAt: z.string(),
  digest: z.string(),
  content: z.string(),
});

/** One config in an export file. */
export const ExportedConfig = z.object({
  name: z.string().min(1),
  contentType: z.string(),
  description: z.string().default(""),
  schema: z.record(z.string(), z.unknown()).optional(),
  versions: z.array(ExportedVersion),
});
export type ExportedConfig = z.infer<typeof ExportedConfig>;

/** An export file. */
export const ExportFile = z.object({
  format: z.literal(EXPORT_FORMAT),
  exportedAt: z.string(),
  from: z.string(),
  configs: z.array(ExportedConfig),
});
export type ExportFile = z.infer<typeof ExportFile>;

async function _exportConfig(client: ApiClient, config: ConfigRecord): Promise<ExportedConfig> {
  const { versions } = await client.json(
    VersionList,
    "GET",
    `/v1/configs/${enc(config.name)}/versions`,
  );
  const exported = [];
  for (const v of [...versions].sort((a, b) => a.version - b.version)) {
    const res = await client.request(
      "GET",
      `/v1/configs/${enc(config.name)}/versions/${v.version}/content`,
    );
    let content: string;
    try {
      content = new TextDecoder("utf-8", { fatal: true }).decode(await res.arrayBuffer());
    } catch {
      throw new CliError(
        `${config.name} v${v.version} is not UTF-8 text; the export format holds text only`,
        { code: CliErrorCode.failed },
      );
    }
    exported.push({
      version: v.version,
      message: v.message,
      author: v.author,
      createdAt: v.createdAt,
      digest: v.digest,
      content,
    });
  }
  return {
    name: config.name,
    contentType: config.contentType,
    description: config.description,
    ...(config.schema ? { schema: config.schema } : {}),
    versions: exported,
  };
}

async function _isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function _write(path: string, doc: ExportFile): Promise<void> {
  try {
    await Deno.writeTextFile(path, JSON.stringify(doc, null, 2) + "\n");
  } catch (e) {
    throw new CliError(`Cannot write ${path}: ${(e as Error).message}`, {
      code: CliErrorCode.file,
    });
  }
}

async function _export(run: Run): Promise<void> {
  const client = await run.client();
  let configs: ConfigRecord[];
  if (run.args.length) {
    configs = [];
    for (const name of run.args) {
      configs.push(await client.json(ConfigRecord, "GET", `/v1/configs/${enc(name)}`));
    }
  } else {
    configs = (await client.json(ConfigList, "GET", "/v1/configs")).configs;
  }
  const exported: ExportedConfig[] = [];
  for (const c of configs) exported.push(await _exportConfig(client, c));
  const doc = (list: ExportedConfig[]): ExportFile => ({
    format: EXPORT_FORMAT,
    exportedAt: new Date().toISOString(),
    from: client.target.url,
    configs: list,
  });
  const out = run.flags.out;
  if (out === undefined) return await run.print(JSON.stringify(doc(exported), null, 2));
  const path = run.path(out);
  const files: string[] = [];
  if (out.endsWith("/") || await _isDir(path)) {
    await Deno.mkdir(path, { recursive: true });
    for (const c of exported) {
      const file = `${path.replace(/\/+$/, "")}/${c.name}.json`;
      await _write(file, doc([c]));
      files.push(file);
    }
  } else {
    await _write(path, doc(exported));
    files.push(path);
  }
  const summary = exported.map((c) => ({ name: c.name, versions: c.versions.length }));
  if (run.flags.json) return await run.print(JSON.stringify({ files, configs: summary }, null, 2));
  await run.print(
    `exported ${
      summary.map((c) => `${c.name} (${c.versions} versions)`).join(", ") ||
      "no config"
    } to ${files.join(", ") || path}`,
  );
}

/** What importing one config found there and did. */
interface Imported {
  name: string;
  created: boolean;
  /** Fields of an existing config the import replaced, with their former values. */
  replaced: { field: string; was: unknown }[];
  versions: { from: number; to: number; digest: string }[];
}

async function _existing(client: ApiClient, name: string): Promise<ConfigRecord | undefined> {
  try {
    return await client.json(ConfigRecord, "GET", `/v1/configs/${enc(name)}`);
  } catch (e) {
    if (e instanceof CliError && e.code === "not_found") return undefined;
    throw e;
  }
}

async function _import(run: Run): Promise<void> {
  const file = requireArg(run, 0, "export file");
  let doc: ExportFile;
  try {
    doc = ExportFile.parse(JSON.parse(await Deno.readTextFile(run.path(file))));
  } catch (e) {
    const why = e instanceof z.ZodError ? z.prettifyError(e) : (e as Error).message;
    throw new CliError(`${file} is not an Atlas export (${EXPORT_FORMAT}): ${why}`, {
      code: CliErrorCode.file,
    });
  }
  const client = await run.client();
  // Check every config before writing anything: a refused import changes nothing.
  const existing = new Map<string, ConfigRecord>();
  const refused: string[] = [];
  for (const c of doc.configs) {
    const found = await _existing(client, c.name);
    if (!found) continue;
    existing.set(c.name, found);
    if (found.contentType !== c.contentType) {
      refused.push(
        `${c.name} is ${found.contentType} here but ${c.contentType} in ${file} (not importable)`,
      );
    } else if (found.latestVersion > 0 && !run.flags.force) {
      refused.push(
        `${c.name} already has ${found.latestVersion} version(s) here: --force appends the ` +
          `${c.versions.length} imported one(s) as v${found.latestVersion + 1}…`,
      );
    }
  }
  if (refused.length) {
    throw new CliError(`Nothing imported: ${refused.join("; ")}`, {
      code: CliErrorCode.conflict,
    });
  }
  const results: Imported[] = [];
  for (const c of doc.configs) {
    const found = existing.get(c.name);
    const result: Imported = { name: c.name, created: !found, replaced: [], versions: [] };
    results.push(result);
    // The schema comes last, and an existing one is lifted while the versions are
    // published: versions published before a schema change may not satisfy it.
    await client.request("PUT", `/v1/configs/${enc(c.name)}`, {
      contentType: c.contentType,
      description: c.description,
      ...(found?.schema ? { schema: null } : {}),
    });
    if (found && found.description !== c.description) {
      result.replaced.push({ field: "description", was: found.description });
    }
    for (const v of [...c.versions].sort((a, b) => a.version - b.version)) {
      let published: VersionRecord;
      try {
        published = await client.json(
          VersionRecord,
          "POST",
          `/v1/configs/${enc(c.name)}/versions`,
          { content: v.content, message: v.message },
        );
      } catch (e) {
        if (found?.schema) {
          await client.request("PUT", `/v1/configs/${enc(c.name)}`, { schema: found.schema });
        }
        const done = results.flatMap((r) => r.versions.map((x) => `${r.name} v${x.to}`));
        throw new CliError(
          `Import stopped at ${c.name} v${v.version}: ${(e as Error).message} (already ` +
            `imported: ${done.join(", ") || "nothing"})`,
          { code: e instanceof CliError ? e.code : CliErrorCode.failed, cause: e },
        );
      }
      if (published.digest !== v.digest) {
        throw new CliError(
          `${c.name} v${v.version} was stored as v${published.version} with digest ` +
            `${short(published.digest)}, not the exported ${short(v.digest)}: the content ` +
            "changed on the way; check the export file",
          { code: CliErrorCode.failed },
        );
      }
      result.versions.push({ from: v.version, to: published.version, digest: v.digest });
    }
    if (c.schema || found?.schema) {
      await client.request("PUT", `/v1/configs/${enc(c.name)}`, { schema: c.schema ?? null });
    }
    if (found && JSON.stringify(found.schema ?? null) !== JSON.stringify(c.schema ?? null)) {
      result.replaced.push({ field: "schema", was: found.schema ?? null });
    }
  }
  const note = "imported versions are new versions here: signed by this installation's " +
    "key, with the importing token as author and the import time (the export file keeps " +
    "the original authors and times)";
  if (run.flags.json) {
    return await run.print(JSON.stringify({ configs: results, note }, null, 2));
  }
  const lines: string[] = [];
  for (const r of results) {
    lines.push(
      `${r.created ? "created" : "updated"} ${r.name}: ${
        r.versions.map((v) => `v${v.from}→v${v.to}`).join(", ") || "no versions"
      }`,
    );
    for (const x of r.replaced) {
      lines.push(`  replaced its ${x.field} (was ${JSON.stringify(x.was)})`);
    }
  }
  lines.push(`note: ${note}`);
  await run.print(lines.join("\n"));
}

/** The commands of this module by name. */
export const TRANSFER_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  export: _export,
  import: _import,
};
