//! The dispatcher: claims due messages from the outbox, sends each by its channel, and settles
//! it (sent, retry later, or failed with the fallback queued). It runs in the server process or
//! alone (`eservices worker`); several may run on one PostgreSQL.

use crate::channels::{Email, EmailChannel, Sms, SmsChannel, SmsGateway};
use crate::document_links::DocumentLinks;
use crate::settings::NotificationSettings;
use crate::templates;
use crate::webhook::{WebhookBody, WebhookSender};
use chrono::{DateTime, TimeDelta, Utc};
use domain::notifications::retry::{NextStep, RetryPolicy};
use domain::notifications::templates::{MessageValues, RenderedMessage, SmsLimits, TemplateSet};
use domain::notifications::{AttemptOutcome, Channel, EventType};
use domain::ports::ApplicationStore;
use persistence::outbox::{AttemptKind, ClaimedMessage};
use persistence::{DieselApplicationStore, DieselOutbox};
use std::sync::Arc;
use std::time::Duration;

/// Everything a dispatcher needs; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    outbox: DieselOutbox,
    store: DieselApplicationStore,
    templates: TemplateSet,
    email: EmailChannel,
    sms: SmsChannel,
    webhooks: WebhookSender,
    links: DocumentLinks,
    public_base_url: String,
    policy: RetryPolicy,
    worker: String,
    settings: NotificationSettings,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("worker", &self.inner.worker)
            .field("email", &self.inner.email)
            .field("sms", &self.inner.sms)
            .finish_non_exhaustive()
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl Dispatcher {
    pub fn new(
        database: &persistence::Database,
        settings: &NotificationSettings,
        links: DocumentLinks,
    ) -> Result<Self, String> {
        // The longest link an SMS can carry, measured on the real format.
        let (longest_path, _) =
            links.link("MD-9999-999999999999", i64::MAX, DateTime::<Utc>::MIN_UTC);
        let limits = SmsLimits {
            max_segments: settings.sms_max_segments,
            longest_link: settings.public_base_url.len() + longest_path.len() + 8,
        };
        let templates = templates::load(limits)?;
        let email = match &settings.smtp {
            Some(smtp) => EmailChannel::smtp(smtp, &settings.mail_from, settings.send_timeout)?,
            None => EmailChannel::Log,
        };
        let sms = match &settings.sms_gateway {
            Some(gateway) => SmsChannel::Gateway(SmsGateway::new(
                gateway.clone(),
                settings.sms_sender.clone(),
                settings.send_timeout,
            )?),
            None => SmsChannel::Log,
        };
        let worker = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "eservices".to_owned()),
            std::process::id(),
            rand::random::<u32>()
        );
        Ok(Self {
            inner: Arc::new(Inner {
                outbox: DieselOutbox::new(database.clone()),
                store: DieselApplicationStore::new(database.clone()),
                templates,
                email,
                sms,
                webhooks: WebhookSender::new(settings.send_timeout, !settings.private_webhooks)?,
                links,
                public_base_url: settings.public_base_url.clone(),
                policy: RetryPolicy {
                    base: delta(settings.retry_base),
                    max_delay: delta(settings.retry_max_delay),
                    max_attempts: settings.retry_max_attempts,
                },
                worker,
                settings: settings.clone(),
            }),
        })
    }

    /// Delivers the outbox until `stop` turns true: a full batch is followed at once by the
    /// next, an empty one by a pause. A database outage is logged and waited out. A batch
    /// under way is finished before stopping, so that no claimed message waits for its lease.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker = %self.inner.worker, "notification dispatcher started");
        while !*stop.borrow() {
            match self.run_once().await {
                Ok(handled) if handled > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "dispatcher: the outbox is unreachable"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.inner.settings.poll_interval) => {}
                // A dropped sender stops the dispatcher as well.
                changed = stop.changed() => if changed.is_err() { break; }
            }
        }
        tracing::info!(worker = %self.inner.worker, "notification dispatcher stopped");
    }

    /// Claims one batch and handles it; the number of messages handled.
    pub async fn run_once(&self) -> Result<usize, domain::ports::Unavailable> {
        let inner = self.inner.clone();
        let claimed = blocking(move || {
            inner.outbox.claim(
                &inner.worker,
                Utc::now(),
                delta(inner.settings.lease),
                inner.settings.batch_size,
            )
        })
        .await?;
        let count = claimed.len();
        let attempts = claimed.into_iter().map(|message| {
            let this = self.clone();
            async move { this.handle(message).await }
        });
        futures_util::future::join_all(attempts).await;
        Ok(count)
    }

    async fn handle(&self, message: ClaimedMessage) {
        // Bounded as a whole (an SMTP exchange has a timeout per step), well inside the lease.
        let limit = self.inner.settings.send_timeout * 2;
        let outcome = match tokio::time::timeout(limit, self.attempt(&message)).await {
            Ok(outcome) => outcome,
            Err(_) => AttemptOutcome::Transient(format!(
                "the attempt took longer than {} ms",
                limit.as_millis()
            )),
        };
        // Outside servers quote addresses and numbers back: keep them out of logs and storage.
        let outcome = match outcome {
            AttemptOutcome::Transient(reason) => AttemptOutcome::Transient(super::redact(&reason)),
            AttemptOutcome::Permanent(reason) => AttemptOutcome::Permanent(super::redact(&reason)),
            sent => sent,
        };
        let kind = match &outcome {
            AttemptOutcome::Sent { .. } => AttemptKind::Sent,
            AttemptOutcome::Transient(_) => AttemptKind::Transient,
            AttemptOutcome::Permanent(_) => AttemptKind::Permanent,
        };
        let now = Utc::now();
        let step =
            self.inner
                .policy
                .after(message.attempt, outcome, now, rand::random::<u32>() % 1001);
        match &step {
            NextStep::Sent { .. } => tracing::info!(
                message = message.id,
                channel = message.channel.as_str(),
                event = message.event.event_type.as_str(),
                "message sent"
            ),
            NextStep::RetryAt { at, reason } => tracing::warn!(
                message = message.id,
                channel = message.channel.as_str(),
                attempt = message.attempt,
                %at,
                reason,
                "message will be retried"
            ),
            NextStep::Fail { reason } => tracing::error!(
                message = message.id,
                channel = message.channel.as_str(),
                attempt = message.attempt,
                reason,
                "message failed for good"
            ),
        }
        let inner = self.inner.clone();
        let settled = blocking(move || {
            inner
                .outbox
                .finish(&message, &inner.worker, &step, kind, now)
        })
        .await;
        match settled {
            Ok(true) => {}
            Ok(false) => tracing::warn!("dispatcher: a message's lease was lost before settling"),
            // The lease runs out and the message is tried again: at least once, never lost.
            Err(error) => tracing::warn!(%error, "dispatcher: could not settle a message"),
        }
    }

    async fn attempt(&self, message: &ClaimedMessage) -> AttemptOutcome {
        let inner = &self.inner;
        let event = &message.event;
        let reference = message.id.to_string();
        match message.channel {
            Channel::Webhook => {
                let Some(target) = &message.webhook else {
                    return AttemptOutcome::Permanent("the subscription is gone".to_owned());
                };
                let body = WebhookBody {
                    id: &event.public_id,
                    event_type: event.event_type,
                    occurred_at: event.occurred_at,
                    attempt: message.attempt,
                    data: &event.facts,
                };
                inner
                    .webhooks
                    .send(&target.url, &target.secret, &body, Utc::now())
                    .await
            }
            Channel::Sms => {
                let values = match self.values(message).await {
                    Ok(values) => values,
                    Err(outcome) => return outcome,
                };
                let Some(RenderedMessage::Sms { text, length }) =
                    inner
                        .templates
                        .sms(event.event_type, event.language, &event.facts, &values)
                else {
                    return AttemptOutcome::Permanent("no SMS template for this event".to_owned());
                };
                if length.segments > inner.settings.sms_max_segments {
                    return AttemptOutcome::Permanent(format!(
                        "the text needs {} SMS segments, at most {} allowed",
                        length.segments, inner.settings.sms_max_segments
                    ));
                }
                inner
                    .sms
                    .send(&Sms {
                        to: &message.recipient,
                        text: &text,
                        length,
                        reference: &reference,
                    })
                    .await
            }
            Channel::Email => {
                let values = match self.values(message).await {
                    Ok(values) => values,
                    Err(outcome) => return outcome,
                };
                let Some(RenderedMessage::Email {
                    subject,
                    text,
                    html,
                }) = inner
                    .templates
                    .email(event.event_type, event.language, &event.facts, &values)
                else {
                    return AttemptOutcome::Permanent(
                        "no e-mail template for this event".to_owned(),
                    );
                };
                inner
                    .email
                    .send(&Email {
                        to: &message.recipient,
                        subject: &subject,
                        text: &text,
                        html: &html,
                        reference: &reference,
                    })
                    .await
            }
        }
    }

    /// The link to the newest document, for "documents ready"; made at sending time so that it
    /// is valid for its whole lifetime from when the applicant receives it.
    async fn values(&self, message: &ClaimedMessage) -> Result<MessageValues, AttemptOutcome> {
        if message.event.event_type != EventType::DocumentsReady {
            return Ok(MessageValues::default());
        }
        let inner = self.inner.clone();
        let number = message.event.facts.number.clone();
        let documents = blocking(move || inner.store.documents(&number))
            .await
            .map_err(|e| AttemptOutcome::Transient(e.to_string()))?;
        let Some(newest) = documents.last() else {
            return Err(AttemptOutcome::Permanent(
                "the application has no documents".to_owned(),
            ));
        };
        let (path, expires) =
            self.inner
                .links
                .link(message.event.facts.number.as_str(), newest.id, Utc::now());
        let baku = chrono::FixedOffset::east_opt(4 * 3600)
            .unwrap_or_else(|| unreachable!("UTC+4 is a valid offset"));
        Ok(MessageValues {
            link: Some(format!("{}{path}", self.inner.public_base_url)),
            link_expires: Some(
                expires
                    .with_timezone(&baku)
                    .format("%Y-%m-%d %H:%M (UTC+4)")
                    .to_string(),
            ),
        })
    }
}

/// Runs blocking storage work off the async threads.
async fn blocking<T, F>(work: F) -> Result<T, domain::ports::Unavailable>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, domain::ports::Unavailable> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| domain::ports::Unavailable {
            system: "dispatcher",
            reason: e.to_string(),
        })?
}
