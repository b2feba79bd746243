//! One exchange with an SMTP server, bounded as a whole. Connecting, the greeting, TLS (implicit
//! or STARTTLS), the login, each command, the message and the server's final reply all fit in
//! one bound ([`SMTP_TIMEOUT`] unless configured): a server that accepts the connection and then
//! says nothing would otherwise hold its sender for ever, since lettre's own timeout bounds only
//! the TCP connect.
//!
//! Each message has a connection of its own, closed after its exchange. A connection given up
//! mid-exchange is dropped, never reused, so a late reply can never be read as the answer to
//! another message's command (which is why lettre's connection pool is not used).
//!
//! Where the server is, how it is reached and with which login come from `BAOCAO_SMTP_URL`,
//! read once at start-up ([`MailServer::parse`]). A password goes only over TLS, except to a
//! server on this machine (loopback).

use std::net::IpAddr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use url::Url;

/// How long one exchange with the mail server may take as a whole, unless configured: shorter
/// than the 25 s a stopping process gives its work in flight, so that the exchange ends (sent,
/// or failed and recorded for a retry) before the process does.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The URL schemes `BAOCAO_SMTP_URL` takes, for error messages.
const SCHEMES: &str = "smtp://, smtp+starttls:// or smtps://";

/// How the connection is protected.
#[derive(Clone)]
enum Security {
    /// Plain text (`smtp://`): for a relay on this machine or inside the network.
    Plain,
    /// STARTTLS, required (`smtp+starttls://`): no login or message before it succeeds.
    StartTls(TlsParameters),
    /// Implicit TLS (`smtps://`).
    Tls(TlsParameters),
}

/// A mail server as `BAOCAO_SMTP_URL` gives it. It has no `Debug`: it holds the password.
#[derive(Clone)]
pub struct MailServer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    bound: Duration,
}

/// Why an exchange did not end with the server accepting the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A 5xx reply: trying again would not help.
    pub permanent: bool,
    /// What went wrong, for the record.
    pub error: String,
}

impl From<SmtpError> for Failure {
    fn from(error: SmtpError) -> Self {
        Self {
            permanent: error.is_permanent(),
            error: error.to_string(),
        }
    }
}

impl MailServer {
    /// Reads `url` (`smtp://`, `smtp+starttls://` or `smtps://`, with an optional
    /// `user:password@`, port and `/ehlo-name`). Refuses a password over plain `smtp://` unless
    /// the host is on loopback (127.0.0.0/8, ::1, localhost). No error repeats the URL, so none
    /// can print the password.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let url = Url::parse(url)
            .map_err(|error| anyhow::anyhow!("BAOCAO_SMTP_URL is not a URL ({error})"))?;
        let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
            anyhow::bail!("BAOCAO_SMTP_URL names no host");
        };
        if url.query().is_some() || url.fragment().is_some() {
            anyhow::bail!(
                "BAOCAO_SMTP_URL takes no options after '?' or '#': write smtp+starttls:// for STARTTLS"
            );
        }
        let host = host.to_owned();
        let tls = || {
            TlsParameters::new(host.clone())
                .map_err(|error| anyhow::anyhow!("BAOCAO_SMTP_URL: no TLS for {host}: {error}"))
        };
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::Plain, 25),
            "smtp+starttls" => (Security::StartTls(tls()?), 587),
            "smtps" => (Security::Tls(tls()?), 465),
            _ => anyhow::bail!("BAOCAO_SMTP_URL must start with {SCHEMES}"),
        };
        let credentials = credentials(&url)?;
        if credentials.is_some() && matches!(security, Security::Plain) && !is_loopback(&host) {
            anyhow::bail!(
                "BAOCAO_SMTP_URL would send its password unencrypted to {host}: use \
                 smtp+starttls:// or smtps:// (plain smtp:// takes a password only for a server \
                 on this machine)"
            );
        }
        let name = url.path().trim_matches('/');
        let hello = if name.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(name.to_owned())
        };
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello,
            bound: SMTP_TIMEOUT,
        })
    }

    /// The same server with another bound on each exchange.
    pub fn with_timeout(mut self, bound: Duration) -> Self {
        self.bound = bound;
        self
    }

    /// How long one exchange may take.
    pub fn timeout(&self) -> Duration {
        self.bound
    }

    /// The server for the log: host, port and protection, never the login.
    pub fn describe(&self) -> String {
        let security = match self.security {
            Security::Plain => "plain",
            Security::StartTls(_) => "STARTTLS",
            Security::Tls(_) => "TLS",
        };
        format!("the SMTP server {}:{} ({security})", self.host, self.port)
    }

    /// Hands `message` to the server in one exchange on a connection of its own: the server's
    /// final reply, or why not. The whole exchange ends within the bound; what is left of it
    /// after the reply is the most the goodbye (`QUIT`) may take, and the goodbye changes
    /// nothing of the outcome: a message the server accepted is sent.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, Failure> {
        let deadline = tokio::time::Instant::now() + self.bound;
        let exchange = async {
            let mut connection = self.connect().await?;
            let reply = connection.send(envelope, message).await;
            Ok::<_, SmtpError>((connection, reply))
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Err(_) => Err(Failure {
                permanent: false,
                error: format!(
                    "timed out: the mail server did not finish the exchange within {} s",
                    self.bound.as_secs_f64()
                ),
            }),
            Ok(Err(error)) => Err(error.into()),
            Ok(Ok((mut connection, reply))) => {
                let _ = tokio::time::timeout_at(deadline, connection.abort()).await;
                reply.map_err(Failure::from)
            }
        }
    }

    /// Connects, reads the greeting, says EHLO, sets up TLS and logs in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let implicit = match &self.security {
            Security::Tls(parameters) => Some(parameters.clone()),
            Security::Plain | Security::StartTls(_) => None,
        };
        let address = (self.host.as_str(), self.port);
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            address,
            Some(self.bound),
            &self.hello,
            implicit,
            None,
        )
        .await?;
        if let Security::StartTls(parameters) = &self.security {
            connection.starttls(parameters.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// The login of `url`, if it has a password: user and password percent-decoded.
fn credentials(url: &Url) -> anyhow::Result<Option<Credentials>> {
    let Some(password) = url.password() else {
        return Ok(None);
    };
    let decode = |text: &str, what: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| anyhow::anyhow!("BAOCAO_SMTP_URL: the {what} is not UTF-8 once decoded"))
    };
    Ok(Some(Credentials::new(
        decode(url.username(), "user")?,
        decode(password, "password")?,
    )))
}

/// Whether `host` is this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(url: &str) -> String {
        match MailServer::parse(url) {
            Ok(server) => panic!("{url} was taken as {}", server.describe()),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn each_scheme_has_its_protection_and_default_port() {
        for (url, described) in [
            ("smtp://relay.internal", "relay.internal:25 (plain)"),
            (
                "smtp+starttls://u:p@mail.example:2587",
                "mail.example:2587 (STARTTLS)",
            ),
            (
                "smtp+starttls://u:p@mail.example",
                "mail.example:587 (STARTTLS)",
            ),
            ("smtps://u:p@mail.example", "mail.example:465 (TLS)"),
            ("smtp://u:p@127.0.0.1:2525", "127.0.0.1:2525 (plain)"),
        ] {
            let server = MailServer::parse(url).expect(url);
            assert_eq!(server.describe(), format!("the SMTP server {described}"));
            assert_eq!(server.timeout(), SMTP_TIMEOUT);
        }
    }

    #[test]
    fn a_password_over_plain_smtp_is_refused_unless_the_server_is_on_loopback() {
        for host in ["127.0.0.1", "127.8.9.10", "[::1]", "localhost", "LocalHost"] {
            let url = format!("smtp://mailer:s3cret@{host}:2525");
            assert!(MailServer::parse(&url).is_ok(), "{url}");
        }
        for host in [
            "mail.example.gov.vn",
            "10.0.0.5",
            "[::2]",
            "128.0.0.1",
            "localhost.example",
        ] {
            let error = refusal(&format!("smtp://mailer:s3cret@{host}:25"));
            assert!(
                error.contains("BAOCAO_SMTP_URL") && error.contains("smtp+starttls://"),
                "{error}"
            );
            assert!(!error.contains("s3cret"), "{error}");
        }
        // Without a password, plain smtp:// to a relay inside the network is fine.
        assert!(MailServer::parse("smtp://relay.internal:25").is_ok());
    }

    #[test]
    fn other_schemes_and_options_are_refused_without_repeating_the_url() {
        for url in [
            "http://u:s3cret@mail.example",
            "smtp://u:s3cret@mail.example?tls=required",
            "smtp+starttls://u:s3cret@",
            "u:s3cret@mail.example",
        ] {
            let error = refusal(url);
            assert!(error.starts_with("BAOCAO_SMTP_URL"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_costs_the_bound_and_a_transient_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(socket);
        });
        let server = MailServer::parse(&format!("smtp://127.0.0.1:{port}"))
            .unwrap()
            .with_timeout(Duration::from_millis(300));
        let envelope = Envelope::new(
            Some("a@example.gov.vn".parse().unwrap()),
            vec!["b@example.gov.vn".parse().unwrap()],
        )
        .unwrap();
        let started = std::time::Instant::now();
        let failure = server
            .send(&envelope, b"Subject: x\r\n\r\nx\r\n")
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!failure.permanent);
        assert!(failure.error.starts_with("timed out"), "{}", failure.error);
        held.abort();
    }
}
