//! `crm-api webhooks list|deliveries`: what an operator needs to see of webhooks without a
//! GraphQL client, as tab-separated lines on standard output.

use super::CliError;
use crate::config::{DbConfig, WebhooksCommand};
use crate::db;
use crate::global_id::{self, NodeKind};
use crate::service::page::PageRequest;
use crate::service::webhooks::{DELIVERED, FAILED, PENDING, endpoints, queue};

pub async fn webhooks(db_cfg: &DbConfig, cmd: WebhooksCommand) -> Result<(), CliError> {
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    let admin = super::acting_admin(&dbs.primary, None).await?;
    let db = &dbs.primary;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    };
    match cmd {
        WebhooksCommand::List => {
            println!("id\turl\tenabled\tevent_types\tlast_success_at\tfailing_since\tdisabled_reason");
            for e in endpoints::list(&admin, db).await.map_err(super::describe)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    global_id::encode(NodeKind::WebhookEndpoint, e.id),
                    e.url,
                    e.enabled,
                    endpoints::patterns_of(&e).join(","),
                    time(e.last_success_at),
                    time(e.failing_since),
                    e.disabled_reason.as_deref().unwrap_or("-"),
                );
            }
        }
        WebhooksCommand::Deliveries { endpoint_id, status, limit } => {
            let id =
                global_id::decode("endpoint_id", &endpoint_id, NodeKind::WebhookEndpoint).map_err(super::describe)?;
            let status = status.map(|s| s.to_uppercase());
            if let Some(s) = status.as_deref()
                && ![PENDING, DELIVERED, FAILED].contains(&s)
            {
                return Err(format!("--status must be PENDING, DELIVERED or FAILED, not {s}").into());
            }
            let request = PageRequest { first: Some(limit), ..Default::default() };
            let page = queue::page(&admin, db, id, status.as_deref(), &request).await.map_err(super::describe)?;
            println!("id\tevent_type\tmessage_id\ttrigger\tstatus\tattempts\tnext_attempt_at\tcreated_at");
            for (_, d) in page.rows {
                let next = (d.status == PENDING).then_some(d.next_attempt_at);
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    global_id::encode(NodeKind::WebhookDelivery, d.id),
                    d.event_type,
                    d.message_id,
                    d.trigger,
                    d.status,
                    d.attempt_count,
                    time(next),
                    d.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                );
            }
        }
    }
    Ok(())
}
