import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";

/**
 * A stand-in for a studio's identity provider: an ES256 key pair whose public half is served as a
 * JWKS over HTTP, so the worker's JWKS verification runs end to end (fetch, cache, verify). Tests
 * sign tokens with the private half.
 */
export async function startIdentityProvider(): Promise<{
  jwksUrl: string;
  privateJwk: string;
  stop(): Promise<void>;
}> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = "test-idp-1";
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }],
  });
  const server = createServer((req, res) => {
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: "ES256" }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
