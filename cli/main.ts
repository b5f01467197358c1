/**
 * Entry point of `deno task atlas`: runs the command in `Deno.args` and exits with its
 * code.
 *
 * @module
 */
import { main } from "./cli.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
