//! The outbox sender: claims one queued message at a time, builds it (HTML body with a
//! plain-text alternative, the DOCX and the PDF attached, a Message-ID fixed per revision and
//! address) and hands it to the SMTP server in one bounded exchange ([`crate::smtp`]), or
//! writes it as an `.eml` file when no server is configured. Each attempt is recorded; a
//! connection error, a timed-out exchange or a 4xx reply is retried with exponential backoff
//! and jitter, a 5xx reply is final. [`crate::outbox`] runs several senders' steps at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use store::PgPool;
use store::outbox::{Claimed, Outcome, Recorded};
use uuid::Uuid;

use crate::Format;
use crate::smtp::{Failure, MailServer};

/// Where messages go.
pub enum Mailer {
    /// An SMTP server.
    Smtp(MailServer),
    /// `.eml` files in a folder (the embedded default without an SMTP URL).
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Mailer {
    /// An SMTP mailer for `url` (see [`MailServer::parse`]: `smtp://`, `smtp+starttls://` or
    /// `smtps://`, a password only over TLS or to loopback), each exchange bounded by
    /// [`crate::smtp::SMTP_TIMEOUT`]; or, without a URL, one that writes `.eml` files into
    /// `mail_dir`.
    pub fn new(url: Option<&str>, mail_dir: &Path) -> anyhow::Result<Self> {
        match url {
            Some(url) => Ok(Self::Smtp(MailServer::parse(url)?)),
            None => {
                std::fs::create_dir_all(mail_dir)
                    .with_context(|| format!("cannot create {}", mail_dir.display()))?;
                Ok(Self::Files(
                    AsyncFileTransport::new(mail_dir),
                    mail_dir.to_owned(),
                ))
            }
        }
    }

    /// The same mailer with each SMTP exchange bounded by `bound` (no effect on files).
    pub fn with_timeout(self, bound: Duration) -> Self {
        match self {
            Self::Smtp(server) => Self::Smtp(server.with_timeout(bound)),
            files @ Self::Files(..) => files,
        }
    }

    /// Where messages go, for the log: the server's host or the folder, never a password.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(server) => server.describe(),
            Mailer::Files(_, dir) => format!(".eml files in {}", dir.display()),
        }
    }
}

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further failure doubles it.
    pub first: TimeDelta,
    /// The longest wait.
    pub cap: TimeDelta,
    /// After this many attempts a message is given up as failed.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first: TimeDelta::seconds(30),
            cap: TimeDelta::hours(1),
            max_attempts: 30,
        }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failed attempts: doubling from `first`, capped, with
    /// ±20% jitter so that messages failed together do not retry together.
    pub fn next_attempt(&self, attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let wait = self
            .first
            .checked_mul(1 << doublings)
            .map_or(self.cap, |wait| wait.min(self.cap));
        let jitter = 0.8 + fastrand::f64() * 0.4;
        let millis = (wait.num_milliseconds() as f64 * jitter) as i64;
        now + TimeDelta::milliseconds(millis)
    }
}

/// How long a claim on a message lasts by default: a sender that dies mid-message leaves it
/// `sending` this long before another claims it.
pub const LEASE: Duration = Duration::from_secs(300);

/// The outbox sender.
pub struct Sender {
    mailer: Mailer,
    retry: RetryPolicy,
    lease: TimeDelta,
    /// This sender's name on its claims.
    id: Uuid,
}

impl Sender {
    /// A sender through `mailer`.
    pub fn new(mailer: Mailer, retry: RetryPolicy) -> Self {
        Self {
            mailer,
            retry,
            lease: TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::minutes(5)),
            id: Uuid::new_v4(),
        }
    }

    /// The same sender with claims that last `lease` ([`LEASE`] by default). It must outlast
    /// an exchange and the recording of its outcome: the configuration checks that it is at
    /// least twice the SMTP bound.
    pub fn with_lease(self, lease: Duration) -> Self {
        Self {
            lease: TimeDelta::from_std(lease).unwrap_or(self.lease),
            ..self
        }
    }

    /// The single step: claims the message due longest and tries it once. `None` when no
    /// message is due.
    pub async fn send_next(
        &self,
        pool: &PgPool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(i64, Outcome)>> {
        let Some(claimed) = store::outbox::claim_next(pool, self.id, now, self.lease).await? else {
            return Ok(None);
        };
        let outcome = match build(&claimed) {
            Ok(message) => self.deliver(message, claimed.attempts, now).await,
            Err(error) => Outcome::Failed(format!("cannot build the message: {error:#}")),
        };
        let recorded = self.record(pool, &claimed, &outcome).await?;
        count(&claimed, &outcome, recorded);
        Ok(Some((claimed.outbox_id, outcome)))
    }

    /// Records the outcome under this sender's claim. After the server has accepted a message
    /// a failed write would have it sent again once the lease expires, so the write is retried
    /// for as long as the lease lasts.
    async fn record(
        &self,
        pool: &PgPool,
        claimed: &Claimed,
        outcome: &Outcome,
    ) -> anyhow::Result<Recorded> {
        let give_up =
            tokio::time::Instant::now() + self.lease.to_std().unwrap_or(Duration::from_secs(300));
        let mut wait = Duration::from_millis(200);
        loop {
            match store::outbox::record(pool, claimed.outbox_id, self.id, outcome, Utc::now()).await
            {
                Ok(recorded) => return Ok(recorded),
                Err(error)
                    if matches!(outcome, Outcome::Sent(_))
                        && tokio::time::Instant::now() < give_up =>
                {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot record a message as sent; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn deliver(&self, message: Message, attempts: i32, now: DateTime<Utc>) -> Outcome {
        let result = match &self.mailer {
            Mailer::Smtp(server) => server
                .send(message.envelope(), &message.formatted())
                .await
                .map(|reply| reply.message().collect::<Vec<_>>().join(" ")),
            Mailer::Files(transport, dir) => transport
                .send(message)
                .await
                .map(|id| format!("written to {}/{id}.eml", dir.display()))
                .map_err(|error| Failure {
                    permanent: false,
                    error: error.to_string(),
                }),
        };
        match result {
            Ok(reply) => Outcome::Sent(reply),
            Err(Failure {
                permanent: true,
                error,
            }) => Outcome::Failed(error),
            Err(Failure { error, .. }) if attempts >= self.retry.max_attempts => {
                Outcome::Failed(format!("gave up after {attempts} attempts: {error}"))
            }
            Err(Failure { error, .. }) => {
                Outcome::Retry(error, self.retry.next_attempt(attempts, now))
            }
        }
    }
}

/// Counts and logs one attempt's outcome, as recorded.
fn count(claimed: &Claimed, outcome: &Outcome, recorded: Recorded) {
    let metrics = metrics::global();
    match (recorded, outcome) {
        (Recorded::NotHeld, _) => {
            tracing::warn!(
                address = %claimed.address,
                "the claim on this message expired and another sender took it; its outcome is left to that sender"
            );
            return;
        }
        (Recorded::Superseded, Outcome::Retry(error, _) | Outcome::Failed(error)) => {
            tracing::info!(address = %claimed.address, %error, "sending failed, and a correction has superseded this revision meanwhile: it is not tried again");
            return;
        }
        (Recorded::Applied | Recorded::Superseded, _) => {}
    }
    match outcome {
        Outcome::Sent(_) => {
            metrics.emails_sent.inc();
            tracing::info!(address = %claimed.address, "report sent")
        }
        Outcome::Retry(error, at) => {
            metrics.email_retries.inc();
            tracing::warn!(address = %claimed.address, %error, next = %at, "sending failed; will retry")
        }
        Outcome::Failed(error) => {
            metrics.emails_failed.inc();
            tracing::error!(address = %claimed.address, %error, "sending failed for good")
        }
    }
}

/// Checks a sender as `mail_from` writes it, "Name <address>" or a bare address: read once at
/// start-up, so that a typo stops the start instead of failing every recipient on the day.
pub fn check_sender(text: &str) -> Result<(), String> {
    text.parse::<Mailbox>().map(|_| ()).map_err(|error| {
        format!("'{text}' is not a sender such as \"UBND phường Trí Quả <vanthu@example.gov.vn>\": {error}")
    })
}

/// The message of a claimed outbox row.
pub fn build(claimed: &Claimed) -> anyhow::Result<Message> {
    let from: Mailbox = claimed
        .mail_from
        .parse()
        .with_context(|| format!("the sender '{}' is not an address", claimed.mail_from))?;
    let to: Mailbox = claimed
        .address
        .parse()
        .with_context(|| format!("'{}' is not an address", claimed.address))?;
    let name = attachment_name(claimed);
    let attachment = |format: Format, body: &[u8]| -> anyhow::Result<SinglePart> {
        Ok(Attachment::new(format!("{name}.{}", format.extension()))
            .body(body.to_vec(), ContentType::parse(format.mime_type())?))
    };
    let mut parts = MultiPart::mixed()
        .multipart(MultiPart::alternative_plain_html(
            claimed.body_text.clone(),
            claimed.body_html.clone(),
        ))
        .singlepart(attachment(Format::Docx, &claimed.docx)?)
        .singlepart(attachment(Format::Pdf, &claimed.pdf)?);
    if let Some(xlsx) = &claimed.xlsx {
        parts = parts.singlepart(attachment(Format::Xlsx, xlsx)?);
    }
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(&claimed.subject)
        .message_id(Some(claimed.message_id.clone()))
        .multipart(parts)
        .context("cannot assemble the message")?;
    Ok(message)
}

/// "Báo cáo Chuyển đổi số tháng 5 năm 2026 - Số 103" (no slash: it is a file name), with
/// "(lần 2)" for a corrected revision.
fn attachment_name(claimed: &Claimed) -> String {
    let period = claimed.period;
    let mut name = format!(
        "Báo cáo Chuyển đổi số tháng {} năm {}",
        period.month(),
        period.year()
    );
    if let Some(number) = claimed.number {
        name.push_str(&format!(" - Số {number:02}"));
    }
    if claimed.revision > 1 {
        name.push_str(&format!(" (lần {})", claimed.revision));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy::default();
        let now = Utc::now();
        for (attempts, seconds) in [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)] {
            let wait = (policy.next_attempt(attempts, now) - now).num_milliseconds() as f64;
            let expected = seconds as f64 * 1000.0;
            assert!(
                (expected * 0.8..=expected * 1.2).contains(&wait),
                "attempt {attempts}: {wait} ms, expected about {expected}"
            );
        }
    }
}
