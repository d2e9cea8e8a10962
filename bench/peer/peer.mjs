// The peer fypass is measured beside (bench/load.rs starts it): node oidc-provider with its
// in-memory adapter, the device grant (RFC 8628) on, one public client. The device grant's
// start (`POST /device/auth`) and its poll (`POST /token`, answered
// `authorization_pending` or `slow_down` until someone confirms) are the same work as
// fypass' login start and status poll.
//
//   node peer.mjs PORT      prints "ready" once it listens
import Provider from "oidc-provider";

const port = Number(process.argv[2] ?? 3999);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "bench",
      token_endpoint_auth_method: "none",
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: { deviceFlow: { enabled: true }, devInteractions: { enabled: false } },
  cookies: { keys: ["bench-only-cookie-key"] },
});
provider.proxy = false;
// The provider logs each request's error (every pending poll is one); the bench wants quiet.
provider.on("server_error", (_ctx, err) => console.error(err));
provider.listen(port, "127.0.0.1", () => console.log("ready"));
