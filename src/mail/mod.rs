//! Outgoing mail through a transactional outbox: a message is a row written
//! in the same transaction as the change that causes it, so a committed change
//! is always mailed (the worker finds the row, also after a restart) and a
//! rolled-back one never is. The worker delivers each row to a directory of
//! `.eml` files or over SMTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::mail_outbox;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::AppResult;
use crate::tokens::new_id;

/// Attempts before a message is left for an operator to look at.
const MAX_ATTEMPTS: i32 = 10;
const BATCH: u64 = 50;
const POLL: Duration = Duration::from_secs(30);

/// Queues a message; call it inside the transaction of the change.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    recipient: &str,
    subject: &str,
    body: String,
) -> AppResult<()> {
    mail_outbox::ActiveModel {
        id: Set(new_id()),
        recipient: Set(recipient.to_owned()),
        subject: Set(subject.to_owned()),
        body: Set(body),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

enum Transport {
    Dir(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Delivers queued messages.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => {
                Transport::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build())
            }
            None => Transport::Dir(config.mail_dir.clone()),
        };
        Ok(Self {
            from: config.mail_from.parse()?,
            transport,
        })
    }

    async fn deliver(&self, row: &mail_outbox::Model) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(row.recipient.parse()?)
            .subject(row.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(row.body.clone())?;
        match &self.transport {
            Transport::Dir(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let file = dir.join(format!("{}.eml", row.id));
                let partial = dir.join(format!(".{}.eml.part", row.id));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, &file).await?;
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
        }
        Ok(())
    }

    /// Sends what is queued; returns how many were sent.
    pub async fn drain(&self, db: &DatabaseConnection) -> anyhow::Result<usize> {
        let mut sent = 0;
        loop {
            let rows = mail_outbox::Entity::find()
                .filter(mail_outbox::Column::SentAt.is_null())
                .filter(mail_outbox::Column::Attempts.lt(MAX_ATTEMPTS))
                .order_by_asc(mail_outbox::Column::CreatedAt)
                .limit(BATCH)
                .all(db)
                .await?;
            if rows.is_empty() {
                return Ok(sent);
            }
            let mut progressed = false;
            for row in rows {
                // Claim this attempt, so that several instances sharing the
                // database do not send one message twice.
                let claimed = mail_outbox::Entity::update_many()
                    .col_expr(mail_outbox::Column::Attempts, Expr::value(row.attempts + 1))
                    .filter(mail_outbox::Column::Id.eq(&row.id))
                    .filter(mail_outbox::Column::Attempts.eq(row.attempts))
                    .filter(mail_outbox::Column::SentAt.is_null())
                    .exec(db)
                    .await?;
                if claimed.rows_affected != 1 {
                    continue;
                }
                progressed = true;
                let outcome = self.deliver(&row).await;
                let update =
                    mail_outbox::Entity::update_many().filter(mail_outbox::Column::Id.eq(&row.id));
                match outcome {
                    Ok(()) => {
                        update
                            .col_expr(mail_outbox::Column::SentAt, Expr::value(Utc::now()))
                            .exec(db)
                            .await?;
                        sent += 1;
                    }
                    Err(err) => {
                        tracing::warn!(mail = %row.id, error = %err, "mail delivery failed");
                        update
                            .col_expr(mail_outbox::Column::LastError, Expr::value(err.to_string()))
                            .exec(db)
                            .await?;
                    }
                }
            }
            if !progressed {
                return Ok(sent);
            }
        }
    }
}

/// Wakes the mail worker after a commit that queued mail.
#[derive(Clone, Default)]
pub struct MailSignal(Arc<Notify>);

impl MailSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Delivers queued mail now, whenever woken, and every half minute.
pub fn spawn_worker(db: DatabaseConnection, mailer: Mailer, signal: MailSignal) {
    tokio::spawn(async move {
        loop {
            match mailer.drain(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sent = n, "mail delivered"),
                Err(err) => tracing::warn!(error = %err, "mail outbox unavailable"),
            }
            tokio::select! {
                () = signal.0.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
}
