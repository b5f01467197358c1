/**
 * `@atlas/nats`: what `core/`, `store/` and `testkit/` were cut from, kept for one step as
 * their union so the control plane and the CLI move onto them in a commit of their own.
 * New code imports `@atlas/core`, `@atlas/store` or `@atlas/testkit`.
 *
 * @module
 */
export * from "@atlas/core";
export * from "@atlas/store";
export * from "@atlas/testkit";
