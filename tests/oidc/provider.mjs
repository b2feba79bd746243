// A real OpenID Connect provider for baocao's sign-in tests: oidc-provider (a certified
// implementation), with one confidential client, PKCE required, and a few people whose groups the
// ID token carries in its `groups` claim. Its own development login page takes any password.
//
//   node tests/oidc/provider.mjs <client-id> <client-secret> <redirect-uri>
//
// Listens on a free loopback port and prints one line, `ISSUER http://127.0.0.1:<port>`, then
// serves until it is killed. Logs go to stderr.
import http from "node:http";
import Provider from "oidc-provider";

const [clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirectUri) {
  process.stderr.write("usage: node tests/oidc/provider.mjs <client-id> <client-secret> <redirect-uri>\n");
  process.exit(2);
}

// The people, by login: each one's name and groups.
const PEOPLE = {
  "editor-a": { name: "Nguyễn Văn Biên", groups: ["/tri-qua/editors"] },
  "viewer-a": { name: "Trần Thị Xem", groups: ["/tri-qua/viewers"] },
  "editor-b": { name: "Lê Văn Bình", groups: ["/an-phu/editors"] },
  "department": { name: "Phạm Sở Khoa", groups: ["/so-khcn"] },
  "nobody": { name: "Người Chưa Có Quyền", groups: [] },
};

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    pkce: { required: () => true },
    claims: { openid: ["sub"], profile: ["name", "groups"] },
    // The ID token carries the profile's claims (baocao reads the groups there, as from
    // Keycloak's group mapper with "Add to ID token").
    conformIdTokenClaims: false,
    findAccount: async (ctx, sub) => {
      const person = PEOPLE[sub];
      if (!person) return undefined;
      return { accountId: sub, claims: async () => ({ sub, name: person.name, groups: person.groups }) };
    },
    // No consent page: baocao is the province's own application.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid profile");
      grant.addOIDCClaims(["name", "groups"]);
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: true } },
    // Lifetimes of its own artifacts, in seconds (set, so that it prints no notice about them).
    ttl: { Interaction: 600, Grant: 3600, Session: 3600, AccessToken: 600, IdToken: 600 },
    cookies: { keys: ["baocao-test-provider-cookie-key"] },
  });
  provider.on("server_error", (ctx, error) => process.stderr.write(`provider.mjs: ${error.stack}\n`));
  server.on("request", provider.callback());
  process.stdout.write(`ISSUER ${issuer}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
