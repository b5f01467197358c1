/**
 * `@atlas/agent`: the edge agent. It watches its region's pointers, fetches and verifies
 * each version (SHA-256 and Ed25519 against its trusted keys), writes the file
 * atomically, runs the optional reload and check commands, persists what it applied
 * and acks. It keeps serving its last applied files while NATS is unreachable.
 *
 * @example
 * ```ts
 * import { Agent, loadAgentConfig } from "@atlas/agent";
 * await using agent = await Agent.start(await loadAgentConfig("agent.json"));
 * ```
 *
 * @module
 */
export { Agent, type AgentOptions, type AgentStats } from "./agent.ts";
export { type AgentConfig, AgentConfigFile, loadAgentConfig, ManagedConfig } from "./config.ts";
export { loadIdentity } from "./identity.ts";
export { type AgentState, type ConfigState, StateStore } from "./state.ts";
export { writeFileAtomic } from "@atlas/store";
