//! `/docs#oidc`: connecting an app with an OpenID Connect library (openid-client, or any
//! OAuth 2.0 library), and the device grant for TVs (SPEC §15).

use super::{CodeBlock, SiteInfo};
use crate::{tr, ui::Prose};
use leptos::prelude::*;

/// How an app connects with the library it already uses.
#[component]
pub fn OidcGuide(info: SiteInfo) -> impl IntoView {
    let issuer = info.public_url.clone();
    let openid_client = format!(
        "import * as client from \"openid-client\";\n\n\
         const config = await client.discovery(new URL(\"{issuer}\"), CLIENT_ID, CLIENT_KEY);\n\
         const verifier = client.randomPKCECodeVerifier();\n\
         const url = client.buildAuthorizationUrl(config, {{\n  \
           redirect_uri: \"https://app.example.com/cb\",\n  \
           scope: \"openid profile email offline_access\",\n  \
           code_challenge: await client.calculatePKCECodeChallenge(verifier),\n  \
           code_challenge_method: \"S256\",\n  \
           state: client.randomState(),\n\
         }});\n\
         // … the person signs in at `url`; fypass redirects to /cb?code=…&state=…&iss=…\n\
         const tokens = await client.authorizationCodeGrant(config, callbackUrl, {{\n  \
           pkceCodeVerifier: verifier, expectedState: state,\n\
         }});\n\
         tokens.claims(); // the verified ID token: sub, email, amr, sid, …"
    );
    let generic = format!(
        "GET {issuer}/oauth/authorize?response_type=code&client_id=$CLIENT_ID\n    \
         &redirect_uri=https://app.example.com/cb&scope=openid%20email\n    \
         &state=$STATE&nonce=$NONCE&code_challenge=$CHALLENGE&code_challenge_method=S256\n\n\
         curl -u \"$CLIENT_ID:$CLIENT_KEY\" {issuer}/oauth/token \\\n  \
         -d grant_type=authorization_code -d code=$CODE \\\n  \
         -d redirect_uri=https://app.example.com/cb -d code_verifier=$VERIFIER\n\
         # → {{ \"access_token\": \"fyp_…\", \"token_type\": \"Bearer\", \"expires_in\": 3600,\n\
         #     \"refresh_token\": \"fyt_…\", \"id_token\": \"eyJ…\", \"scope\": \"openid email\" }}"
    );
    let device = format!(
        "curl {issuer}/oauth/device_authorization -d client_id=$TV_CLIENT_ID -d scope=openid\n\
         # → {{ \"device_code\": \"fyd_…\", \"user_code\": \"BDFG-HJKL\",\n\
         #     \"verification_uri_complete\": \"{issuer}/fypass?reqToken=…\", \"interval\": 2, … }}\n\n\
         curl {issuer}/oauth/token -d client_id=$TV_CLIENT_ID \\\n  \
         -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d device_code=$DEVICE_CODE\n\
         # → 400 {{ \"error\": \"authorization_pending\", … }} until the person is done, then the tokens"
    );
    view! {
        <section>
            <h2 id="oidc">{tr!(docs.oidc.heading)}</h2>
            <p><Prose text=tr!(docs.oidc.lead, issuer = issuer.clone()) /></p>
            <p><Prose text=tr!(docs.oidc.clients) /></p>
            <h3 id="oidc-openid-client">{tr!(docs.oidc.openid_client)}</h3>
            <CodeBlock code=openid_client />
            <h3 id="oidc-generic">{tr!(docs.oidc.generic)}</h3>
            <p><Prose text=tr!(docs.oidc.authorize) /></p>
            <CodeBlock code=generic />
            <p><Prose text=tr!(docs.oidc.id_token) /></p>
            <p><Prose text=tr!(docs.oidc.after) /></p>
            <h3 id="oidc-device">{tr!(docs.oidc.device_heading)}</h3>
            <p><Prose text=tr!(docs.oidc.device) /></p>
            <CodeBlock code=device />
            <h3 id="oidc-keys">{tr!(docs.oidc.keys_heading)}</h3>
            <p><Prose text=tr!(docs.oidc.keys) /></p>
            <p><Prose text=tr!(docs.oidc.errors) /></p>
        </section>
    }
}
