// Values test/global-setup.ts hands to the workers config and to tests via vitest's provide/inject.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    neonWsProxy: string;
    /** Empty when no Redis is reachable (REDIS_URL unset): Redis-backed tests are then skipped. */
    upstashUrl: string;
    upstashToken: string;
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
