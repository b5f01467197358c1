/** Moved: import `@atlas/testkit`. @module */
export * from "@atlas/testkit";
