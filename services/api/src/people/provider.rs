//! The identity provider as baocao's client of it: its discovery document (and keys), read when
//! a sign-in first needs them, each exchange bounded ([`super::http::EXCHANGE_BOUND`]); kept an
//! hour, and read again sooner after a failure (at most every few seconds), so that a provider
//! that was down is used again as soon as it is back. Nothing but a sign-in waits for it.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::PeopleConfig;

/// Every claim of the ID token beyond the standard ones, for the roles claim.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    /// The claims by name.
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The ID token as the token endpoint returns it, with [`OtherClaims`].
pub type IdToken = openidconnect::IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The client, as built from the discovery document.
pub type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<Fields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long a discovery document (and its keys) is kept.
const KEPT: Duration = Duration::from_secs(3600);
/// The least time between two tries after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The provider, read when needed.
pub struct Provider {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    metadata: Option<(Instant, CoreProviderMetadata)>,
    failed_at: Option<(Instant, String)>,
}

/// Why a sign-in could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached or answered nonsense: sign-ins wait for it.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// What came back does not prove who the person is (a bad code, a forged or expired ID
    /// token, another nonce).
    #[error("the sign-in was refused: {0}")]
    Refused(String),
}

/// A sign-in begun: where to send the browser, and what its callback must match.
pub struct Begun {
    /// The provider's authorization URL.
    pub url: String,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The subject.
    pub subject: String,
    /// Their name (or preferred user name), if given.
    pub name: Option<String>,
    /// Their groups from the roles claim.
    pub groups: Vec<String>,
}

impl Provider {
    /// The provider of `config`, not yet read.
    pub fn new(config: &PeopleConfig) -> Self {
        Self {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri: config.redirect_uri(),
            known: Mutex::new(Known::default()),
        }
    }

    /// The client, from the discovery document as last read (read now if it is missing or
    /// old; one reading at a time).
    pub async fn client(&self) -> Result<OidcClient, SignInError> {
        let mut known = self.known.lock().await;
        let fresh = known
            .metadata
            .as_ref()
            .filter(|(at, _)| at.elapsed() < KEPT)
            .map(|(_, metadata)| metadata.clone());
        let metadata = match fresh {
            Some(metadata) => metadata,
            None => {
                if let Some((at, why)) = &known.failed_at
                    && at.elapsed() < RETRY_AFTER
                {
                    return Err(SignInError::Unavailable(why.clone()));
                }
                match self.discover().await {
                    Ok(metadata) => {
                        known.metadata = Some((Instant::now(), metadata.clone()));
                        known.failed_at = None;
                        metadata
                    }
                    Err(why) => {
                        tracing::warn!(issuer = %self.issuer, error = %why, "the identity provider cannot be read");
                        known.failed_at = Some((Instant::now(), why.clone()));
                        return Err(SignInError::Unavailable(why));
                    }
                }
            }
        };
        drop(known);
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| SignInError::Unavailable(format!("the redirect URI: {e}")))?;
        Ok(OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(self.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Forgets the document, so that the next sign-in reads it (and the keys) again.
    pub async fn forget(&self) {
        self.known.lock().await.metadata = None;
    }

    async fn discover(&self) -> Result<CoreProviderMetadata, String> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| e.to_string())?;
        CoreProviderMetadata::discover_async(issuer, &super::http::call)
            .await
            .map_err(|e| error_chain(&e))
    }

    /// Begins a sign-in: a fresh `state`, `nonce` and PKCE pair, and the authorization URL.
    pub async fn begin(&self) -> Result<Begun, SignInError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Begun {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Ends a sign-in: exchanges `code` (with the PKCE verifier) for the ID token and checks
    /// it (signature by the provider's keys, issuer, audience, expiry, `nonce`).
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
        roles_claim: &str,
    ) -> Result<SignedIn, SignInError> {
        let client = self.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| {
                SignInError::Unavailable(format!("the provider has no token endpoint: {e}"))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let token = request
            .request_async(&super::http::call)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::Request(e) => {
                    SignInError::Unavailable(error_chain(&e))
                }
                other => SignInError::Refused(error_chain(&other)),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| SignInError::Refused("the provider sent no ID token".into()))?;
        let verified = verify(&client, id_token, nonce, roles_claim);
        if verified.is_err() {
            // Perhaps the provider rolled its keys: the next sign-in reads them again.
            self.forget().await;
        }
        verified
    }
}

/// Checks `id_token` with the client's verifier (the keys of the discovery document, the
/// issuer, baocao's client id as audience, the expiry) and `nonce`, and reads who it names.
pub fn verify(
    client: &OidcClient,
    id_token: &IdToken,
    nonce: &str,
    roles_claim: &str,
) -> Result<SignedIn, SignInError> {
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
        .map_err(|e| SignInError::Refused(error_chain(&e)))?;
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned())
        .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()));
    Ok(SignedIn {
        subject: claims.subject().as_str().to_owned(),
        name,
        groups: super::groups_at(&claims.additional_claims().claims, roles_claim),
    })
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    super::http::with_causes(error)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use openidconnect::core::{
        CoreResponseType, CoreRsaPrivateSigningKey, CoreSubjectIdentifierType,
    };
    use openidconnect::{
        Audience, AuthUrl, EmptyAdditionalProviderMetadata, IdTokenClaims, JsonWebKeyId,
        JsonWebKeySet, JsonWebKeySetUrl, PrivateSigningKey, ResponseTypes, StandardClaims,
        SubjectIdentifier,
    };

    use super::*;

    const ISSUER: &str = "https://sso.example.gov.vn/realms/tinh";
    const PROVIDER_KEY: &str = include_str!("testdata/provider-key.pem");
    const FORGER_KEY: &str = include_str!("testdata/forger-key.pem");

    fn key(pem: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into())))
            .expect("a test key")
    }

    /// baocao's client of a provider whose keys are [`PROVIDER_KEY`]'s.
    fn client() -> OidcClient {
        let metadata = CoreProviderMetadata::new(
            IssuerUrl::new(ISSUER.into()).expect("a URL"),
            AuthUrl::new(format!("{ISSUER}/auth")).expect("a URL"),
            JsonWebKeySetUrl::new(format!("{ISSUER}/certs")).expect("a URL"),
            vec![ResponseTypes::new(vec![CoreResponseType::Code])],
            vec![CoreSubjectIdentifierType::Public],
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            EmptyAdditionalProviderMetadata {},
        )
        .set_jwks(JsonWebKeySet::new(vec![
            key(PROVIDER_KEY).as_verification_key(),
        ]));
        OidcClient::from_provider_metadata(
            metadata,
            ClientId::new("baocao".into()),
            Some(ClientSecret::new("secret".into())),
        )
    }

    /// An ID token signed with `pem`, for `audience`, ending `expires` from now, with `nonce`.
    fn token(pem: &str, audience: &str, expires: TimeDelta, nonce: &str) -> IdToken {
        let now = Utc::now();
        let mut other = OtherClaims::default();
        other
            .claims
            .insert("groups".into(), serde_json::json!(["/tri-qua/editors"]));
        let claims = IdTokenClaims::new(
            IssuerUrl::new(ISSUER.into()).expect("a URL"),
            vec![Audience::new(audience.into())],
            now + expires,
            now - TimeDelta::minutes(1),
            StandardClaims::new(SubjectIdentifier::new("person-1".into())),
            other,
        )
        .set_nonce(Some(Nonce::new(nonce.into())));
        IdToken::new(
            claims,
            &key(pem),
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .expect("a signed token")
    }

    fn refused(result: Result<SignedIn, SignInError>) -> String {
        match result {
            Err(SignInError::Refused(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_token_signed_by_the_provider_for_baocao_names_the_person_and_groups() {
        let good = token(PROVIDER_KEY, "baocao", TimeDelta::minutes(5), "n-1");
        let person = verify(&client(), &good, "n-1", "groups").expect("verified");
        assert_eq!(person.subject, "person-1");
        assert_eq!(person.groups, ["/tri-qua/editors"]);
    }

    #[test]
    fn a_forged_token_is_refused() {
        let forged = token(FORGER_KEY, "baocao", TimeDelta::minutes(5), "n-1");
        let why = refused(verify(&client(), &forged, "n-1", "groups"));
        assert!(why.to_lowercase().contains("signature"), "{why}");
    }

    #[test]
    fn an_expired_token_is_refused() {
        let expired = token(PROVIDER_KEY, "baocao", TimeDelta::hours(-1), "n-1");
        let why = refused(verify(&client(), &expired, "n-1", "groups"));
        assert!(why.to_lowercase().contains("expire"), "{why}");
    }

    #[test]
    fn a_token_for_another_client_or_with_another_nonce_is_refused() {
        let elsewhere = token(PROVIDER_KEY, "another-app", TimeDelta::minutes(5), "n-1");
        refused(verify(&client(), &elsewhere, "n-1", "groups"));
        let replayed = token(PROVIDER_KEY, "baocao", TimeDelta::minutes(5), "n-1");
        let why = refused(verify(&client(), &replayed, "n-2", "groups"));
        assert!(why.to_lowercase().contains("nonce"), "{why}");
    }
}
