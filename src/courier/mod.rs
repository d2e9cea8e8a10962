//! The courier: how codes reach people, by email (SMTP) or WhatsApp (the Cloud API).
//!
//! A message is written to the outbox ([`outbox`]) in the transaction that stores the code
//! it carries; the request answers at once, and a background sender on every node
//! delivers what is due, retrying with a growing delay. A channel that is not configured
//! keeps its messages waiting in the outbox, where `fypass outbox list` shows them (which
//! is how a new user tries every flow on one machine with `make run`).

mod email;
pub mod outbox;
mod whatsapp;

use crate::{config::Config, db::Db};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Whatsapp,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "email" => Ok(Channel::Email),
            "whatsapp" => Ok(Channel::Whatsapp),
            _ => Err(()),
        }
    }
}

/// One message to one person.
#[derive(Clone, Debug)]
pub struct Message {
    pub channel: Channel,
    /// An email address, or a WhatsApp number in E.164.
    pub to: String,
    /// What it is for (`recovery`, `sign-in`, `verify`, …), for the outbox listing.
    pub purpose: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The one-time code, for WhatsApp's authentication template (which carries only it).
    pub code: Option<String>,
}

/// Messages one claim takes at most.
const BATCH: i64 = 16;
/// How often each node looks for due messages when nobody woke it.
const POLL: Duration = Duration::from_secs(1);

/// The configured channels, and the signal that wakes the sender when a message is stored.
pub struct Courier {
    email: Option<email::Sender>,
    whatsapp: Option<whatsapp::Sender>,
    wake: Notify,
}

impl Courier {
    /// The channels `config` sets up; an unusable setting is an error at start.
    pub fn from_config(config: &Config) -> Result<Courier, String> {
        Ok(Courier {
            email: email::Sender::from_config(config)?,
            whatsapp: whatsapp::Sender::from_config(config)?,
            wake: Notify::new(),
        })
    }

    /// The channels that can deliver.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        if self.email.is_some() {
            channels.push(Channel::Email);
        }
        if self.whatsapp.is_some() {
            channels.push(Channel::Whatsapp);
        }
        channels
    }

    /// Says once, at start, where messages go.
    pub fn announce(&self) {
        match (&self.email, &self.whatsapp) {
            (None, None) => tracing::warn!(
                "no email or WhatsApp channel is configured: codes wait in the outbox; \
                 `fypass outbox list` shows them"
            ),
            (None, Some(_)) => {
                tracing::warn!("no email channel (FYPASS_SMTP_URL): email codes wait in the outbox")
            }
            (Some(_), None) => tracing::info!(
                "no WhatsApp channel (FYPASS_WHATSAPP_*): WhatsApp codes wait in the outbox"
            ),
            (Some(_), Some(_)) => {}
        }
    }

    /// Wakes the sender: a message was just stored.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers what is due now, batch after batch; how many left.
    pub async fn deliver_due(&self, db: &Db) -> Result<usize, crate::error::ApiError> {
        let channels = self.channels();
        let mut sent = 0;
        loop {
            let batch = outbox::claim(db, &channels, BATCH).await?;
            let claimed = batch.len();
            for message in batch {
                match self.deliver(&message).await {
                    Ok(()) => {
                        outbox::mark_sent(db, message.id).await?;
                        metrics::counter!("fypass_messages_total", "channel" => message.channel.clone(), "outcome" => "sent").increment(1);
                        sent += 1;
                    }
                    Err(error) => {
                        // The error names the channel's problem, never the message.
                        tracing::warn!(message = %message.id, channel = %message.channel, attempt = message.attempts, %error, "could not deliver a message");
                        metrics::counter!("fypass_messages_total", "channel" => message.channel.clone(), "outcome" => "retry").increment(1);
                        outbox::mark_failed(db, &message, &error).await?;
                    }
                }
            }
            if claimed < BATCH as usize {
                return Ok(sent);
            }
        }
    }

    async fn deliver(&self, claimed: &outbox::Claimed) -> Result<(), String> {
        let message = claimed
            .message()
            .ok_or_else(|| "the stored message is incomplete".to_string())?;
        match message.channel {
            Channel::Email => match &self.email {
                Some(sender) => sender.send(&message).await,
                None => Err("no email channel".into()),
            },
            Channel::Whatsapp => match &self.whatsapp {
                Some(sender) => sender.send(&message).await,
                None => Err("no WhatsApp channel".into()),
            },
        }
    }

    /// Runs the sender for as long as the server runs: at every wake-up or poll.
    pub fn spawn(self: &Arc<Self>, db: Db) {
        if self.channels().is_empty() {
            return;
        }
        let courier = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = courier.deliver_due(&db).await {
                    tracing::warn!(error = %e, "the courier could not read the outbox");
                }
                tokio::select! {
                    () = courier.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
    }
}
