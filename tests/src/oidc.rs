//! A real OpenID Connect provider for the sign-in tests: `tests/oidc/provider.mjs` (npm's
//! oidc-provider, installed by `ensure_oidc_provider` in `scripts/services.sh`), started per
//! test on a free port, with one client and the people of its table; and the API started with
//! `[auth.oidc]` pointing at it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::{RunningApi, TestEnv, repo_root};

/// The client id the API has at the provider.
pub const CLIENT_ID: &str = "baocao";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-client-secret-0123456789-abcdef";

/// A running provider; killed when dropped.
pub struct TestProvider {
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
    _child: Child,
}

impl TestProvider {
    /// Starts the provider with baocao's client, whose redirect URI is `redirect_uri`.
    pub async fn start(redirect_uri: &str) -> Self {
        assert!(
            repo_root()
                .join("tests/oidc/node_modules/oidc-provider")
                .exists(),
            "the sign-in tests need tests/oidc's node modules: run scripts/test, which installs \
             them (ensure_oidc_provider in scripts/services.sh)"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(repo_root().join("tests/oidc/provider.mjs"))
            .args([CLIENT_ID, CLIENT_SECRET, redirect_uri])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .expect("its output")
            .expect("an ISSUER line");
        let issuer = line
            .strip_prefix("ISSUER ")
            .expect("ISSUER <url>")
            .to_owned();
        // Whatever else it prints is read and passed on: a closed pipe would end it (EPIPE)
        // at its next line, in the middle of a sign-in.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("provider.mjs: {line}");
            }
        });
        Self {
            issuer,
            _child: child,
        }
    }
}

/// The roles of the sign-in tests' people (`tests/oidc/provider.mjs`), for two wards.
pub fn grants() -> Vec<api::access::RoleGrant> {
    use api::access::{Level, RoleGrant, Scope};
    let grant = |group: &str, level, scope| RoleGrant {
        group: group.into(),
        level,
        scope,
    };
    vec![
        grant(
            "/tri-qua/editors",
            Level::Editor,
            Scope::Unit("tri-qua".into()),
        ),
        grant(
            "/tri-qua/viewers",
            Level::Viewer,
            Scope::Unit("tri-qua".into()),
        ),
        grant(
            "/an-phu/editors",
            Level::Editor,
            Scope::Unit("an-phu".into()),
        ),
        grant("/so-khcn", Level::Viewer, Scope::All),
    ]
}

impl TestEnv {
    /// Starts the api target in this process with `token` and people signing in at a provider
    /// of their own (returned with it), with the roles of [`grants`].
    pub async fn start_api_with_people(&self, token: Option<&str>) -> (RunningApi, TestProvider) {
        let listener = api::bind("127.0.0.1:0", true, token)
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("an address").to_string();
        let public_url = format!("http://{address}");
        let provider = TestProvider::start(&format!("{public_url}/auth/callback")).await;
        let people = api::people::PeopleConfig {
            issuer: provider.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            roles_claim: "groups".into(),
            public_url,
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            grants: grants(),
        };
        let api = self.serve_api(listener, token, Some(people)).await;
        (api, provider)
    }
}

/// Signs `login` in through the provider in headless Chromium (`tests/browser/signin.mjs`);
/// returns what the dashboard showed (`{who, noRole}`) and the session cookie as the browser
/// keeps it (`{value, httpOnly, sameSite, secure, path}`).
pub async fn sign_in(api: &RunningApi, login: &str) -> (serde_json::Value, serde_json::Value) {
    let shot = format!("signin-{login}.png");
    let mut script = crate::browser::start("signin.mjs", &api.address, login, &shot);
    let mut read = async |tag: &str| {
        let line = tokio::time::timeout(Duration::from_secs(90), script.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{tag} within 90 s"))
            .expect("the script's output")
            .unwrap_or_else(|| panic!("a {tag} line"));
        let json = line
            .strip_prefix(&format!("{tag} "))
            .unwrap_or_else(|| panic!("{tag} …, not {line}"));
        serde_json::from_str::<serde_json::Value>(json).expect("JSON")
    };
    let shown = read("SHOWN").await;
    let cookie = read("COOKIE").await;
    script.finish(5_000).await;
    (shown, cookie)
}
