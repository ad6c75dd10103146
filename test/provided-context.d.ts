// Values test/global-setup.ts hands to the workers config and to tests via vitest's provide/inject.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    neonWsProxy: string;
    /** Empty when no Redis is reachable (REDIS_URL unset): Redis-backed tests are then skipped. */
    upstashUrl: string;
    upstashToken: string;
    /** REDIS_URL was set for this run (REQUIRE_REDIS makes it mandatory): Redis must be wired. */
    redisRequested: boolean;
    redisKeyPrefix: string;
    /**
     * A stand-in identity provider (test/idp-server.ts): its JWKS URL and the private key tokens
     * are signed with.
     */
    idpJwksUrl: string;
    idpPrivateJwk: string;
  }
}

export {};
