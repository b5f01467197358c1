/**
 * The control plane's API as TypeScript types, generated from its OpenAPI document.
 * Do not edit: run `deno task gen:api` after changing a route.
 *
 * @module
 */
// deno-fmt-ignore-file
// deno-lint-ignore-file
export interface paths {
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics: API latency, quarantine, JetStream write retries */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Prometheus text exposition format 0.0.4 */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness, and whether NATS is reachable */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description alive */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            ok: boolean;
                            nats: {
                                connected: boolean;
                                server?: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OpenAPI 3.1 */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            [key: string]: unknown;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document for people (Swagger UI, served from this control plane) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description HTML page */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/{asset}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Assets of the docs page (Swagger UI's bundle, its stylesheet) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    asset: "swagger-ui.css" | "swagger-ui-bundle.js" | "init.js";
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the asset */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/css": string;
                        "text/javascript": string;
                    };
                };
                /** @description Not one of the page's assets */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List configs, by name */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description configs */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            configs: {
                                name: string;
                                /** @default  */
                                description: string;
                                /** @enum {string} */
                                contentType: "application/json" | "application/yaml" | "text/plain";
                                schema?: {
                                    [key: string]: unknown;
                                };
                                latestVersion: number;
                                /** Format: date-time */
                                createdAt: string;
                                /** Format: date-time */
                                updatedAt: string;
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a config */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description an ETag from an earlier answer: 304 if current */
                    "if-none-match"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the config */
                200: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @default  */
                            description: string;
                            /** @enum {string} */
                            contentType: "application/json" | "application/yaml" | "text/plain";
                            schema?: {
                                [key: string]: unknown;
                            };
                            latestVersion: number;
                            /** Format: date-time */
                            createdAt: string;
                            /** Format: date-time */
                            updatedAt: string;
                        };
                    };
                };
                /** @description Not modified: the `If-None-Match` ETag is current */
                304: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Create a config, or update the fields given
         * @description Requires a token with role admin. Omitted fields keep their value. `If-Match` with the config's ETag makes the update conditional (412 when it changed). A JSON Schema is compiled in ajv's strict mode: an unknown keyword (`requried`) is a 422 naming it.
         */
        put: {
            parameters: {
                query?: never;
                header?: {
                    /** @description the ETag the update is based on */
                    "if-match"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description the fields to set; no body creates a JSON config */
            requestBody?: {
                content: {
                    "application/json": {
                        description?: string;
                        /**
                         * @description default application/json
                         * @enum {string}
                         */
                        contentType?: "application/json" | "application/yaml" | "text/plain";
                        /** @description JSON Schema every new version must satisfy (JSON and YAML configs); null removes it */
                        schema?: {
                            [key: string]: unknown;
                        } | null;
                    };
                };
            };
            responses: {
                /** @description updated */
                200: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @default  */
                            description: string;
                            /** @enum {string} */
                            contentType: "application/json" | "application/yaml" | "text/plain";
                            schema?: {
                                [key: string]: unknown;
                            };
                            latestVersion: number;
                            /** Format: date-time */
                            createdAt: string;
                            /** Format: date-time */
                            updatedAt: string;
                        };
                    };
                };
                /** @description created */
                201: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            /** @default  */
                            description: string;
                            /** @enum {string} */
                            contentType: "application/json" | "application/yaml" | "text/plain";
                            schema?: {
                                [key: string]: unknown;
                            };
                            latestVersion: number;
                            /** Format: date-time */
                            createdAt: string;
                            /** Format: date-time */
                            updatedAt: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description `If-Match` does not match the current `ETag` */
                412: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List versions, ascending */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                };
                header?: never;
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description versions */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            versions: {
                                config: string;
                                version: number;
                                digest: string;
                                size: number;
                                /** @enum {string} */
                                contentType: "application/json" | "application/yaml" | "text/plain";
                                author: string;
                                message: string;
                                /** Format: date-time */
                                createdAt: string;
                                keyId: string;
                                signature: string;
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Publish a version (size, parse, schema, store)
         * @description Requires a token with role admin. `content` as a string is stored byte for byte. As a JSON value it is stored pretty-printed, and refused (422) when a number in it cannot be stored exactly (`1e400`, `12345678901234567890`): send such content as a string. Content nested deeper than 64 levels is a 400. `Idempotency-Key` makes a retry return the first answer.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Retry safely: the same key with the same request within 24 h returns the first answer (header `Idempotent-Replayed: true`); with another request it is a 422 */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description the content and an optional message */
            requestBody: {
                content: {
                    "application/json": {
                        /** @description the content as a string (bytes preserved), or for JSON configs any JSON value (stored pretty-printed with a final newline) */
                        content: unknown;
                        message?: string;
                    };
                };
            };
            responses: {
                /** @description the signed version record */
                201: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            digest: string;
                            size: number;
                            /** @enum {string} */
                            contentType: "application/json" | "application/yaml" | "text/plain";
                            author: string;
                            message: string;
                            /** Format: date-time */
                            createdAt: string;
                            keyId: string;
                            signature: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/versions/{version}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a version record */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description an ETag from an earlier answer: 304 if current */
                    "if-none-match"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                    /** @description version number, a positive integer */
                    version: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the signed version record */
                200: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            digest: string;
                            size: number;
                            /** @enum {string} */
                            contentType: "application/json" | "application/yaml" | "text/plain";
                            author: string;
                            message: string;
                            /** Format: date-time */
                            createdAt: string;
                            keyId: string;
                            signature: string;
                        };
                    };
                };
                /** @description Not modified: the `If-None-Match` ETag is current */
                304: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/versions/{version}/content": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The exact bytes published, re-hashed on read */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description an ETag from an earlier answer: 304 if current */
                    "if-none-match"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                    /** @description version number, a positive integer */
                    version: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the content, with the config's content type */
                200: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        /** @description the version number */
                        "X-Atlas-Version"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": unknown;
                        "application/yaml": string;
                        "text/plain": string;
                    };
                };
                /** @description Not modified: the `If-None-Match` ETag is current */
                304: {
                    headers: {
                        /** @description Strong validator of this representation; send it back in `If-None-Match` (304 when unchanged) or, on updates, `If-Match` (412 when it changed) */
                        ETag?: string;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/diff": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Unified diff between two versions */
        get: {
            parameters: {
                query: {
                    /** @description version to diff from */
                    from: string;
                    /** @description version to diff to */
                    to: string;
                };
                header?: never;
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description unified diff */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a version active now in some or all regions
         * @description Requires a token with role admin. `Idempotency-Key` makes a retry return the first answer.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Retry safely: the same key with the same request within 24 h returns the first answer (header `Idempotent-Replayed: true`); with another request it is a 422 */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description the version, and optionally the regions */
            requestBody: {
                content: {
                    "application/json": {
                        version: number;
                        /** @description default: every provisioned region */
                        regions?: string[];
                    };
                };
            };
            responses: {
                /** @description what moved where */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            regions: {
                                region: string;
                                seq: number;
                                version: number;
                                previousVersion: number | null;
                                changed: boolean;
                            }[];
                            /** @default [] */
                            deferred: {
                                region: string;
                                rolloutId: string;
                                reason: string;
                            }[];
                        };
                    };
                };
                /** @description moved where reachable; unreachable regions deferred to a rollout */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            regions: {
                                region: string;
                                seq: number;
                                version: number;
                                previousVersion: number | null;
                                changed: boolean;
                            }[];
                            /** @default [] */
                            deferred: {
                                region: string;
                                rolloutId: string;
                                reason: string;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/rollback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Move back to the prior (or a named) version
         * @description Requires a token with role admin. `Idempotency-Key` makes a retry return the first answer.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Retry safely: the same key with the same request within 24 h returns the first answer (header `Idempotent-Replayed: true`); with another request it is a 422 */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description optional regions and target version */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description default: every provisioned region */
                        regions?: string[];
                        /** @description default: the version active before the current one */
                        toVersion?: number;
                    };
                };
            };
            responses: {
                /** @description what moved where */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            regions: {
                                region: string;
                                seq: number;
                                version: number;
                                previousVersion: number | null;
                                changed: boolean;
                            }[];
                            /** @default [] */
                            deferred: {
                                region: string;
                                rolloutId: string;
                                reason: string;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Pointer and agents per region */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description status per region */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            regions: {
                                region: string;
                                pointer: {
                                    version: number;
                                    seq: number;
                                    issuedAt: string;
                                    history: number[];
                                } | null;
                                agents: {
                                    total: number;
                                    onActive: string[];
                                    onOther: {
                                        agent: string;
                                        version: number | null;
                                    }[];
                                    rejects: {
                                        agent: string;
                                        version: number;
                                        status: string;
                                        reason: string;
                                    }[];
                                    /** @default [] */
                                    gone: string[];
                                    /** @default [] */
                                    unverified: {
                                        agent: string;
                                        reason: string;
                                    }[];
                                };
                                /** @default null */
                                propagation: {
                                    acked: number;
                                    p50Ms: number;
                                    p95Ms: number;
                                    p99Ms: number;
                                    maxMs: number;
                                    skewMs: number;
                                } | null;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/versions/{version}/evidence": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Which hosts ran a version at a time, proven by signed acks
         * @description A host ran the version at `at` when its newest `applied` ack stored by then is for it and is signed by the host's enrolled key. Acks that do not verify are counted in `unverified`, never used. Reaches back as far as the acks stream keeps acks (30 days).
         */
        get: {
            parameters: {
                query?: {
                    /** @description the time asked about (default: now) */
                    at?: string;
                    /** @description only this region */
                    region?: string;
                };
                header?: never;
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                    /** @description version number, a positive integer */
                    version: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the hosts, each with its signed ack */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            config: string;
                            version: number;
                            digest: string;
                            at: string;
                            region: string | null;
                            hosts: {
                                region: string;
                                agent: string;
                                version: number;
                                digest: string;
                                seq: number;
                                appliedAt: string;
                                storedAt: string;
                                signature: string;
                                publicKey: string;
                            }[];
                            scanned: number;
                            unverified: number;
                            truncated: boolean;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Agents with staleness, drift and quarantines, by region then id */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                    region?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description agents */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agents: {
                                id: string;
                                region: string;
                                /** @default {} */
                                labels: {
                                    [key: string]: string;
                                };
                                hostname: string;
                                pid: number;
                                /** Format: date-time */
                                startedAt: string;
                                /** Format: date-time */
                                heartbeatAt: string;
                                /** @default 15 */
                                heartbeatSeconds: number;
                                aliveSeconds?: number;
                                /** Format: date-time */
                                leftAt?: string;
                                configs: {
                                    [key: string]: {
                                        applied: {
                                            version: number;
                                            digest: string;
                                            seq: number;
                                            /** Format: date-time */
                                            appliedAt: string;
                                            /** @enum {string} */
                                            contentType?: "application/json" | "application/yaml" | "text/plain";
                                        } | null;
                                        diskDigest: string | null;
                                        lastAck: {
                                            version: number;
                                            seq: number;
                                            /** @enum {string} */
                                            status: "applied" | "rejected" | "failed" | "verified";
                                            reason?: string;
                                            /** @enum {string} */
                                            refusal?: "untrusted";
                                            /** Format: date-time */
                                            at: string;
                                        } | null;
                                        lastDriftHealed?: {
                                            /** Format: date-time */
                                            at: string;
                                            found: string | null;
                                            version: number;
                                        };
                                        drift: boolean;
                                    };
                                };
                                stale: boolean;
                                quarantined: {
                                    reason: string;
                                    rolloutId?: string;
                                    /** Format: date-time */
                                    at: string;
                                    config: string | null;
                                }[];
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{region}/{id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Release a quarantined agent from one config (body or query `config`) or from all
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: {
                    /** @description release the agent from this config's quarantine only; default: every config */
                    config?: string;
                };
                header?: never;
                path: {
                    /** @description region name: [a-z0-9][a-z0-9_-]{0,62} */
                    region: string;
                    /** @description agent name: [a-z0-9][a-z0-9_-]{0,62} */
                    id: string;
                };
                cookie?: never;
            };
            /** @description optional config */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description release the agent from this config's quarantine only; default: every config */
                        config?: string;
                    };
                };
            };
            responses: {
                /** @description the quarantines lifted */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            region: string;
                            agent: string;
                            released: {
                                reason: string;
                                rolloutId?: string;
                                /** Format: date-time */
                                at: string;
                                config: string | null;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{region}/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Forget an agent: its heartbeat and quarantine records
         * @description Requires a token with role admin. 409 while its heartbeat is fresh, unless force=true.
         */
        delete: {
            parameters: {
                query?: {
                    /** @description remove it even though its heartbeat is fresh (it writes it back at its next beat) */
                    force?: "true" | "false";
                };
                header?: never;
                path: {
                    /** @description region name: [a-z0-9][a-z0-9_-]{0,62} */
                    region: string;
                    /** @description agent name: [a-z0-9][a-z0-9_-]{0,62} */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description what was removed */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            region: string;
                            agent: string;
                            heartbeat: boolean;
                            heartbeatAt: string | null;
                            quarantine: {
                                reason: string;
                                rolloutId?: string;
                                /** Format: date-time */
                                at: string;
                                config: string | null;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{region}/{id}/credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enrol an agent: NATS credentials (.creds) for exactly that agent
         * @description Requires a token with role admin. Each call issues a new key; earlier ones stay valid until revoked. 409 when the control plane was started without --auth-dir.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description region name: [a-z0-9][a-z0-9_-]{0,62} */
                    region: string;
                    /** @description agent name: [a-z0-9][a-z0-9_-]{0,62} */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the agent's credentials (secret) */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            region: string;
                            agent: string;
                            publicKey: string;
                            creds: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Revoke every NATS credential of an agent; the servers drop it within seconds
         * @description Requires a token with role admin. 404 when none of its credentials is in force.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description region name: [a-z0-9][a-z0-9_-]{0,62} */
                    region: string;
                    /** @description agent name: [a-z0-9][a-z0-9_-]{0,62} */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the keys revoked */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            region: string;
                            agent: string;
                            revoked: string[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Audit events, newest first
         * @description Without `limit`, the newest 100 and no `next`; with it, `next` pages back through older events.
         */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000 (default 100: the newest 100 events) */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                    config?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description events */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            events: {
                                id: string;
                                /** Format: date-time */
                                at: string;
                                actor: string;
                                actorId?: string;
                                action: string;
                                config?: string;
                                region?: string;
                                version?: number;
                                /** @default {} */
                                details: {
                                    [key: string]: unknown;
                                };
                                /** @enum {boolean} */
                                recovered?: true;
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Trusted keys file for agents (the active keys of the key set) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description trusted keys */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            keys: {
                                /** @enum {string} */
                                algorithm: "ed25519";
                                keyId: string;
                                publicKey: string;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/set": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The signed key set in force: every key, its status, the signing key */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the key set */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            seq: number;
                            signing: string;
                            keys: {
                                /** @enum {string} */
                                algorithm: "ed25519";
                                keyId: string;
                                publicKey: string;
                                /** @enum {string} */
                                status: "active" | "retired" | "revoked";
                                /** Format: date-time */
                                since: string;
                            }[];
                            /** Format: date-time */
                            issuedAt: string;
                            issuedBy: string;
                            keyId: string;
                            signature: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a new signing key and sign with it (the old one stays trusted)
         * @description Requires a token with role admin. Audited. The new key set is signed by the key in force and announced to agents before anything is signed with the new key.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the new key and key set */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            keyId: string;
                            /** @description the new private key: copy it into every coordinator's --key-dir */
                            file: string;
                            keySet: {
                                seq: number;
                                signing: string;
                                keys: {
                                    /** @enum {string} */
                                    algorithm: "ed25519";
                                    keyId: string;
                                    publicKey: string;
                                    /** @enum {string} */
                                    status: "active" | "retired" | "revoked";
                                    /** Format: date-time */
                                    since: string;
                                }[];
                                /** Format: date-time */
                                issuedAt: string;
                                issuedBy: string;
                                keyId: string;
                                signature: string;
                            };
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{keyId}/retire": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retire a key: re-sign what it signed with the signing key, then stop trusting it
         * @description Requires a token with role admin. Audited. 409 for the signing key (rotate first) or a key already retired.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description key id */
                    keyId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the key set with the key retired */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            keySet: {
                                seq: number;
                                signing: string;
                                keys: {
                                    /** @enum {string} */
                                    algorithm: "ed25519";
                                    keyId: string;
                                    publicKey: string;
                                    /** @enum {string} */
                                    status: "active" | "retired" | "revoked";
                                    /** Format: date-time */
                                    since: string;
                                }[];
                                /** Format: date-time */
                                issuedAt: string;
                                issuedBy: string;
                                keyId: string;
                                signature: string;
                            };
                            resigned: {
                                versions: number;
                                pointers: number;
                            };
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{keyId}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a key (compromised): stop trusting it at once; nothing is re-signed
         * @description Requires a token with role admin. Audited. 409 for the signing key (rotate first) or a key already revoked.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description key id */
                    keyId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the key set with the key revoked */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            keySet: {
                                seq: number;
                                signing: string;
                                keys: {
                                    /** @enum {string} */
                                    algorithm: "ed25519";
                                    keyId: string;
                                    publicKey: string;
                                    /** @enum {string} */
                                    status: "active" | "retired" | "revoked";
                                    /** Format: date-time */
                                    since: string;
                                }[];
                                /** Format: date-time */
                                issuedAt: string;
                                issuedBy: string;
                                keyId: string;
                                signature: string;
                            };
                            resigned: {
                                versions: number;
                                pointers: number;
                            };
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/regions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List regions, by name */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description regions */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            regions: {
                                name: string;
                                cluster?: string;
                                /** Format: date-time */
                                createdAt: string;
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/regions/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Provision a region
         * @description Requires a token with role admin. A region that exists is answered as it is (200) when the body asks for nothing else; a different `cluster` or `replicas` for it is a 409 saying what it has (placement cannot change through this call).
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description region name: [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description optional placement */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description the NATS cluster to place the region's pointers and blob copy in (a supercluster member named like the region, usually); default: wherever the server puts them */
                        cluster?: string;
                        /** @description replicas of the region's streams (3 where the region's cluster has 3 nodes); default: the control plane's */
                        replicas?: number;
                    };
                };
            };
            responses: {
                /** @description already there, as asked */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            cluster?: string;
                            /** Format: date-time */
                            createdAt: string;
                        };
                    };
                };
                /** @description created */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            name: string;
                            cluster?: string;
                            /** Format: date-time */
                            createdAt: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/configs/{name}/rollouts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a staged rollout of a version
         * @description Requires a token with role admin. Give exactly one of `strategy` or `stages`; `regions` and `gates` only with a strategy. 409 when a region of it has no live coordinator, unless allowNoCoordinator. `Idempotency-Key` makes a retry return the first answer.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Retry safely: the same key with the same request within 24 h returns the first answer (header `Idempotent-Replayed: true`); with another request it is a 422 */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62} */
                    name: string;
                };
                cookie?: never;
            };
            /** @description the version and a strategy or stages */
            requestBody: {
                content: {
                    "application/json": {
                        version: number;
                        /** @description a strategy object, or just its name ("canary") for its defaults */
                        strategy?: {
                            /** @enum {string} */
                            name: "immediate";
                        } | {
                            /** @enum {string} */
                            name: "canary";
                            /** @default 5 */
                            canaryPercent?: number;
                            /** @default 60 */
                            bakeSeconds?: number;
                        } | {
                            /** @enum {string} */
                            name: "linear";
                            /** @default 4 */
                            steps?: number;
                            /** @default 60 */
                            bakeSeconds?: number;
                        } | {
                            /** @enum {string} */
                            name: "exponential";
                            /** @default 1 */
                            startPercent?: number;
                            /** @default 60 */
                            bakeSeconds?: number;
                        } | ("immediate" | "canary" | "linear" | "exponential");
                        /** @description explicit stages instead of a strategy (each names its regions and gates) */
                        stages?: {
                            regions: string[];
                            /** @default 100 */
                            percent?: number;
                            /** @default [] */
                            agents?: string[];
                            labels?: {
                                [key: string]: string;
                            };
                            /** @default 0 */
                            bakeSeconds?: number;
                            /**
                             * @default {
                             *       "maxFailureRatio": 0,
                             *       "minAckedRatio": 1,
                             *       "ackTimeoutSeconds": 60,
                             *       "metrics": []
                             *     }
                             */
                            gates?: {
                                /** @default 0 */
                                maxFailureRatio?: number;
                                /** @default 1 */
                                minAckedRatio?: number;
                                /** @default 60 */
                                ackTimeoutSeconds?: number;
                                /** @default [] */
                                metrics?: {
                                    query: string;
                                    max: number;
                                    min: number;
                                    /** @default 0 */
                                    forSeconds?: number;
                                }[];
                            };
                            preflight?: boolean;
                        }[];
                        /** @description with a strategy: the regions in rollout order, the first one taking the canary (default: every region, in the order they were added) */
                        regions?: string[];
                        /** @description with a strategy: gates of every stage */
                        gates?: {
                            maxFailureRatio: number;
                            minAckedRatio: number;
                            ackTimeoutSeconds: number;
                            metrics: {
                                query: string;
                                max: number;
                                min: number;
                                /** @default 0 */
                                forSeconds?: number;
                            }[];
                        };
                        /** @description first a preflight stage: every agent of every region of the rollout fetches and verifies the version without installing it (gates: the rollout's, or with stages the first stage's) */
                        preflight?: boolean;
                        /** @description start even when a region of the rollout has no live coordinator (it waits there until one starts) */
                        allowNoCoordinator?: boolean;
                    };
                };
            };
            responses: {
                /** @description the rollout, running at stage 0 */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused content: schema violation, inexact number, unknown JSON Schema keyword, an `Idempotency-Key` reused with another body, or a placement that cannot be applied */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Rollouts, newest first, with what each region waits for */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                    config?: string;
                    state?: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description rollouts */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            rollouts: {
                                id: string;
                                config: string;
                                version: number;
                                stages: {
                                    regions: string[];
                                    /** @default 100 */
                                    percent: number;
                                    /** @default [] */
                                    agents: string[];
                                    labels?: {
                                        [key: string]: string;
                                    };
                                    /** @default 0 */
                                    bakeSeconds: number;
                                    /**
                                     * @default {
                                     *       "maxFailureRatio": 0,
                                     *       "minAckedRatio": 1,
                                     *       "ackTimeoutSeconds": 60,
                                     *       "metrics": []
                                     *     }
                                     */
                                    gates: {
                                        /** @default 0 */
                                        maxFailureRatio: number;
                                        /** @default 1 */
                                        minAckedRatio: number;
                                        /** @default 60 */
                                        ackTimeoutSeconds: number;
                                        /** @default [] */
                                        metrics: {
                                            query: string;
                                            max: number;
                                            min: number;
                                            /** @default 0 */
                                            forSeconds: number;
                                        }[];
                                    };
                                    preflight?: boolean;
                                }[];
                                /** @enum {string} */
                                state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                                stage: number;
                                regions: {
                                    [key: string]: {
                                        targeted: number;
                                        applied: number;
                                        rejected: number;
                                        failed: number;
                                        pending: number;
                                        /** @default 0 */
                                        verified: number;
                                        /** @default 0 */
                                        departed: number;
                                        note?: string;
                                        /** Format: date-time */
                                        stageStartedAt?: string;
                                        /** Format: date-time */
                                        healthySince?: string;
                                        /** @default -1 */
                                        doneStage: number;
                                        /** @default 0 */
                                        seq: number;
                                        /** @default -1 */
                                        stage: number;
                                        /** @enum {string} */
                                        settle?: "promoting" | "promoted";
                                    };
                                };
                                skipBakeStage?: number;
                                transitions: {
                                    /** Format: date-time */
                                    at: string;
                                    from: string;
                                    to: string;
                                    stage: number;
                                    reason: string;
                                    by: string;
                                }[];
                                /** Format: date-time */
                                createdAt: string;
                                createdBy: string;
                                /** Format: date-time */
                                updatedAt: string;
                                trace?: string;
                                /** @default [] */
                                waiting: {
                                    region: string;
                                    /** @enum {string} */
                                    for: "coordinator" | "acks" | "bake" | "nothing";
                                    detail: string;
                                    since?: string;
                                    until?: string;
                                }[];
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a rollout, with what each region waits for */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description rollout id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the rollout */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                            /** @default [] */
                            waiting: {
                                region: string;
                                /** @enum {string} */
                                for: "coordinator" | "acks" | "bake" | "nothing";
                                detail: string;
                                since?: string;
                                until?: string;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts/{id}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pause a running rollout (running → paused)
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description rollout id */
                    id: string;
                };
                cookie?: never;
            };
            /** @description an optional reason */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description recorded in the transition and audit */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description the rollout after the action */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts/{id}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resume a paused rollout (paused → running)
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description rollout id */
                    id: string;
                };
                cookie?: never;
            };
            /** @description an optional reason */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description recorded in the transition and audit */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description the rollout after the action */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts/{id}/abort": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Abort a rollout; the coordinators restore the stable version
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description rollout id */
                    id: string;
                };
                cookie?: never;
            };
            /** @description an optional reason */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description recorded in the transition and audit */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description the rollout after the action */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/rollouts/{id}/promote": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Skip the rest of the current stage's bake of a running rollout
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description rollout id */
                    id: string;
                };
                cookie?: never;
            };
            /** @description an optional reason */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description recorded in the transition and audit */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description the rollout after the action */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            config: string;
                            version: number;
                            stages: {
                                regions: string[];
                                /** @default 100 */
                                percent: number;
                                /** @default [] */
                                agents: string[];
                                labels?: {
                                    [key: string]: string;
                                };
                                /** @default 0 */
                                bakeSeconds: number;
                                /**
                                 * @default {
                                 *       "maxFailureRatio": 0,
                                 *       "minAckedRatio": 1,
                                 *       "ackTimeoutSeconds": 60,
                                 *       "metrics": []
                                 *     }
                                 */
                                gates: {
                                    /** @default 0 */
                                    maxFailureRatio: number;
                                    /** @default 1 */
                                    minAckedRatio: number;
                                    /** @default 60 */
                                    ackTimeoutSeconds: number;
                                    /** @default [] */
                                    metrics: {
                                        query: string;
                                        max: number;
                                        min: number;
                                        /** @default 0 */
                                        forSeconds: number;
                                    }[];
                                };
                                preflight?: boolean;
                            }[];
                            /** @enum {string} */
                            state: "pending" | "running" | "paused" | "succeeded" | "rolled_back" | "aborted";
                            stage: number;
                            regions: {
                                [key: string]: {
                                    targeted: number;
                                    applied: number;
                                    rejected: number;
                                    failed: number;
                                    pending: number;
                                    /** @default 0 */
                                    verified: number;
                                    /** @default 0 */
                                    departed: number;
                                    note?: string;
                                    /** Format: date-time */
                                    stageStartedAt?: string;
                                    /** Format: date-time */
                                    healthySince?: string;
                                    /** @default -1 */
                                    doneStage: number;
                                    /** @default 0 */
                                    seq: number;
                                    /** @default -1 */
                                    stage: number;
                                    /** @enum {string} */
                                    settle?: "promoting" | "promoted";
                                };
                            };
                            skipBakeStage?: number;
                            transitions: {
                                /** Format: date-time */
                                at: string;
                                from: string;
                                to: string;
                                stage: number;
                                reason: string;
                                by: string;
                            }[];
                            /** Format: date-time */
                            createdAt: string;
                            createdBy: string;
                            /** Format: date-time */
                            updatedAt: string;
                            trace?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Open alerts (or all), newest first */
        get: {
            parameters: {
                query?: {
                    /** @description page size, 1 to 1000; with it the response carries `next` */
                    limit?: string;
                    /** @description the `next` of the previous page */
                    cursor?: string;
                    /** @description include resolved alerts */
                    all?: "true" | "false";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description alerts */
                200: {
                    headers: {
                        /** @description With `limit`, when there is more: `<…&cursor=…>; rel="next"` */
                        Link?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            alerts: {
                                id: string;
                                /** @enum {string} */
                                kind: "stalled" | "rolled_back" | "failure_cluster" | "drift";
                                region: string;
                                config?: string;
                                rolloutId?: string;
                                message: string;
                                /** Format: date-time */
                                at: string;
                                /** Format: date-time */
                                resolvedAt?: string;
                                resolvedBy?: string;
                                resolution?: string;
                            }[];
                            /** @description with `limit`: the cursor of the next page, null on the last one */
                            next?: string | null;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts/{id}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resolve an open alert
         * @description Requires a token with role admin.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description alert id */
                    id: string;
                };
                cookie?: never;
            };
            /** @description an optional reason */
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description recorded in the alert and the audit */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description the alert, resolved */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            /** @enum {string} */
                            kind: "stalled" | "rolled_back" | "failure_cluster" | "drift";
                            region: string;
                            config?: string;
                            rolloutId?: string;
                            message: string;
                            /** Format: date-time */
                            at: string;
                            /** Format: date-time */
                            resolvedAt?: string;
                            resolvedBy?: string;
                            resolution?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List tokens (never their secrets or digests)
         * @description Requires a token with role admin. The tokens file's come first, then the API's by creation time, revoked ones included.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the tokens */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            tokens: {
                                id: string;
                                name: string;
                                /** @enum {string} */
                                role: "admin" | "reader";
                                /** @enum {string} */
                                source: "file" | "api";
                                /** Format: date-time */
                                createdAt?: string;
                                createdBy?: string;
                                createdById?: string;
                                /** Format: date-time */
                                expiresAt?: string;
                                /** Format: date-time */
                                revokedAt?: string;
                                revokedBy?: string;
                            }[];
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a token; its secret is returned once
         * @description Requires a token with role admin. The secret (256 random bits) is in this answer only: Atlas keeps its SHA-256. A name in use by a token that is not revoked is a 409. Audited as `token.create`.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            /** @description the token's name and role */
            requestBody: {
                content: {
                    "application/json": {
                        /** @description who the token is: the audit actor and version author */
                        name: string;
                        /**
                         * @description admin: anything; reader: reads only
                         * @enum {string}
                         */
                        role: "admin" | "reader";
                        /** @description the token stops working this many seconds after its creation (default: never) */
                        ttlSeconds?: number;
                    };
                };
            };
            responses: {
                /** @description the token and its secret */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            token: {
                                id: string;
                                name: string;
                                /** @enum {string} */
                                role: "admin" | "reader";
                                /** @enum {string} */
                                source: "file" | "api";
                                /** Format: date-time */
                                createdAt?: string;
                                createdBy?: string;
                                createdById?: string;
                                /** Format: date-time */
                                expiresAt?: string;
                                /** Format: date-time */
                                revokedAt?: string;
                                revokedBy?: string;
                            };
                            /** @description send as `Authorization: Bearer <secret>`; shown only this once */
                            secret: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tokens/{ref}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke a token, at once
         * @description Requires a token with role admin. The token is refused from then on by every control plane. Revoking a revoked token answers it as it is; a token of the tokens file is a 409 (remove it from the file, then SIGHUP). Audited as `token.revoke`.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description the token's id (tok_…) or name */
                    ref: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the revoked token */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            name: string;
                            /** @enum {string} */
                            role: "admin" | "reader";
                            /** @enum {string} */
                            source: "file" | "api";
                            /** Format: date-time */
                            createdAt?: string;
                            createdBy?: string;
                            createdById?: string;
                            /** Format: date-time */
                            expiresAt?: string;
                            /** Format: date-time */
                            revokedAt?: string;
                            revokedBy?: string;
                        };
                    };
                };
                /** @description Invalid request: malformed body, bad name, failed validation */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Missing or invalid bearer token */
                401: {
                    headers: {
                        /** @description Always `Bearer realm="atlas"` */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The token's role may not do this */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Method not allowed on this path; `Allow` lists the methods */
                405: {
                    headers: {
                        /** @description The methods of this path */
                        Allow?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Body or content too large */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not `application/json` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal or integrity error */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description NATS JetStream unavailable */
                503: {
                    headers: {
                        /** @description Seconds to wait before retrying */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: never;
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
