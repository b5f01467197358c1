/**
 * `@atlas/testkit`: what tests, benchmarks and dev mode start: the nats-server launcher (a
 * node, a cluster, a supercluster with cuttable gateways), per-test servers (`natsTest`),
 * `waitFor`, and fixtures that act as the control plane at the level of NATS. Imported by
 * tests, bench and dev mode only, never by the agent, the coordinator or the SDK.
 *
 * @example
 * ```ts
 * import { natsTest } from "@atlas/testkit";
 * natsTest("a pointer survives a restart", async ({ nats }) => {});
 * ```
 *
 * @module
 */
export {
  type ActivateOptions,
  activateVersion,
  agentRecord,
  enrolAgent,
  makeCredentials,
  moveWithoutNotice,
  seededRandom,
  storeVersion,
  type TestCredentials,
  withMember,
} from "./fixtures.ts";
export { GatewayLinks, GatewayProxy } from "./gateway_links.ts";
export {
  assertRefused,
  authOf,
  connectAs,
  credsFor,
  handshake,
  type RoleSpec,
  TestAuth,
  useAuth,
} from "./auth.ts";
export { makePki, type Pki, PkiError, pkiIn, tempPki } from "./pki.ts";
export {
  findPrometheus,
  Prometheus,
  PrometheusError,
  type PrometheusOptions,
  scrapeConfig,
  type ScrapeJob,
  startPrometheus,
} from "./prometheus.ts";
export {
  findNatsServer,
  type LeafRemote,
  NatsCluster,
  type NatsClusterOptions,
  NatsServer,
  NatsServerError,
  type NatsServerOptions,
  type RegionSpec,
  reservePort,
  type ServerTls,
  serverTls,
  startNatsCluster,
  startNatsServer,
  startSupercluster,
  Supercluster,
  type SuperclusterOptions,
} from "./server.ts";
export {
  acksOf,
  type HasLog,
  livenessSummary,
  natsTest,
  type NatsTestContext,
  type NatsTestOptions,
  printLogsOnFailure,
  tempDir,
  waitFor,
  waitForBlobCopy,
  waitForCompleteBlobCopy,
  type WaitForOptions,
} from "./testing.ts";
