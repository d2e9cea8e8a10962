// The peer fypass is measured beside (bench/load.rs starts it): node oidc-provider with its
// own in-memory adapter (with room for every token the run makes: its default store keeps
// the last 1000 entries, and a token pushed out would be answered as unknown, a cheaper
// answer the checks would count as wrong), the device grant (RFC 8628) on, one public
// client, ID tokens signed ES256 as fypass signs them.
//
// The device grant's start (`POST /device/auth`) and its poll (`POST /token`, answered
// `authorization_pending` or `slow_down` until someone confirms) are the same work as
// fypass' login start and status poll, and as its own `/oauth/device_authorization` and
// device-code poll. `POST /token` with `grant_type=refresh_token` rotates the token (a
// public client's refresh tokens rotate on every use, as fypass' do) and issues an access
// token and an ID token.
//
//   node peer.mjs PORT      prints "ready" once it listens
//   GET /bench/refresh?n=N  (bench only) N refresh tokens with scope "openid offline_access",
//                           each of its own grant and person, one per line
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";
import MemoryAdapter from "oidc-provider/lib/adapters/memory_adapter.js";
import LRU from "oidc-provider/lib/helpers/lru.js";

const port = Number(process.argv[2] ?? 3999);
const issuer = `http://127.0.0.1:${port}`;
const store = new LRU({ maxSize: 5_000_000 });
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const signing = { ...privateKey.export({ format: "jwk" }), kid: "bench", alg: "ES256", use: "sig" };
const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [signing] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  clients: [
    {
      client_id: "bench",
      token_endpoint_auth_method: "none",
      grant_types: [
        "urn:ietf:params:oauth:grant-type:device_code",
        "authorization_code",
        "refresh_token",
      ],
      response_types: ["code"],
      redirect_uris: ["http://127.0.0.1/cb"],
      id_token_signed_response_alg: "ES256",
    },
  ],
  features: { deviceFlow: { enabled: true }, devInteractions: { enabled: false } },
  cookies: { keys: ["bench-only-cookie-key"] },
});
provider.proxy = false;
provider.use(async (ctx, next) => {
  if (ctx.path !== "/bench/refresh") return next();
  const n = Number(ctx.query.n ?? 1);
  const client = await provider.Client.find("bench");
  const authTime = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (let i = 0; i < n; i++) {
    const accountId = `person-${i}`;
    const grant = new provider.Grant({ accountId, clientId: "bench" });
    grant.addOIDCScope("openid offline_access");
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: "authorization_code",
      scope: "openid offline_access",
      authTime,
      sessionUid: `bench-${i}`,
      sid: `bench-${i}`,
    });
    tokens.push(await token.save());
  }
  ctx.body = tokens.join("\n");
});
// The provider logs each request's error (every pending poll is one); the bench wants quiet.
provider.on("server_error", (_ctx, err) => console.error(err));
provider.listen(port, "127.0.0.1", () => console.log("ready"));
