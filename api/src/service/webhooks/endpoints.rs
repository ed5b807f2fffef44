//! Webhook endpoints (ADMIN): created with a signing secret shown once, updated, rotated
//! (the previous secret signs beside the new one for a while), disabled, deleted. Written
//! through the one write path, so they are in the change log (ADMIN-only, secrets never).

use entity::webhook_endpoint::{self, Column};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, Set};

use super::{Settings, destination, events, signature};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::changes::feed;
use crate::service::scope::ensure_admin;
use crate::service::validate;
use crate::service::work::{Target, Writer};

const LABEL: &str = "WebhookEndpoint";
const DESCRIPTION_MAX: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// The endpoint's event type patterns.
pub fn patterns_of(endpoint: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_str(&endpoint.event_types).unwrap_or_default()
}

async fn checked_url(raw: &str, settings: &Settings) -> ApiResult<String> {
    let url = destination::parse(raw, settings.allow_private).map_err(|m| ApiError::bad_input("url", m))?;
    destination::check_resolves(&url, settings.allow_private).await.map_err(|m| ApiError::bad_input("url", m))?;
    Ok(url.to_string())
}

fn checked_types(requested: &[String]) -> ApiResult<String> {
    let patterns = events::patterns(requested).map_err(|m| ApiError::bad_input("eventTypes", m))?;
    Ok(serde_json::Value::from(patterns).to_string())
}

/// Creates an endpoint; returns it and its secret (the only time the secret is shown).
/// It receives the events committed from now on.
pub async fn create(
    principal: &Principal,
    w: &Writer,
    settings: &Settings,
    input: EndpointInput,
) -> ApiResult<(webhook_endpoint::Model, String)> {
    ensure_admin(principal)?;
    let url = checked_url(input.url.as_deref().unwrap_or_default(), settings).await?;
    let event_types = checked_types(input.event_types.as_deref().unwrap_or_default())?;
    let description = validate::optional("description", input.description.flatten(), DESCRIPTION_MAX)?;
    let secret = signature::new_secret();
    let now = crate::service::now();
    let mut work = w.begin(principal).await?;
    let row = webhook_endpoint::ActiveModel {
        id: NotSet,
        url: Set(url),
        description: Set(description),
        event_types: Set(event_types),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        enabled: Set(input.enabled.unwrap_or(true)),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        enqueued_through: Set(feed::end_of_log(work.db()).await?),
        last_success_at: Set(None),
        failing_since: Set(None),
        created_by: Set(Some(principal.user_id)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    let created = work.insert(row).await?;
    work.commit().await?;
    Ok((created, secret))
}

/// Changes an endpoint. Re-enabling one resumes with the events committed from then on
/// (`replayWebhooks` sends what it missed); deliveries queued before are due at once.
pub async fn update(
    principal: &Principal,
    w: &Writer,
    settings: &Settings,
    id: i64,
    input: EndpointInput,
) -> ApiResult<webhook_endpoint::Model> {
    ensure_admin(principal)?;
    let mut changes = webhook_endpoint::ActiveModel::default();
    if let Some(url) = &input.url {
        changes.url = Set(checked_url(url, settings).await?);
    }
    if let Some(types) = &input.event_types {
        changes.event_types = Set(checked_types(types)?);
    }
    if let Some(description) = input.description {
        changes.description = Set(validate::optional("description", description, DESCRIPTION_MAX)?);
    }
    let now = crate::service::now();
    let mut work = w.begin(principal).await?;
    let current = live(work.db(), id).await?;
    match input.enabled {
        Some(true) if !current.enabled => {
            changes.enabled = Set(true);
            changes.disabled_at = Set(None);
            changes.disabled_reason = Set(None);
            changes.failing_since = Set(None);
            changes.enqueued_through = Set(feed::end_of_log(work.db()).await?);
            super::queue::due_now(work.db(), id).await?;
        }
        Some(false) if current.enabled => {
            changes.enabled = Set(false);
            changes.disabled_at = Set(Some(now));
            changes.disabled_reason = Set(Some("disabled by an admin".into()));
        }
        _ => {}
    }
    changes.updated_at = Set(now);
    let updated = work.update::<webhook_endpoint::Entity>(Target::new(id, LABEL), changes).await?;
    work.commit().await?;
    Ok(updated)
}

/// Gives the endpoint a new secret; the current one keeps signing beside it for
/// `settings.secret_overlap` (a secret older than that stops at once).
pub async fn rotate_secret(
    principal: &Principal,
    w: &Writer,
    settings: &Settings,
    id: i64,
) -> ApiResult<(webhook_endpoint::Model, String)> {
    ensure_admin(principal)?;
    let secret = signature::new_secret();
    let now = crate::service::now();
    let mut work = w.begin(principal).await?;
    let current = live(work.db(), id).await?;
    let changes = webhook_endpoint::ActiveModel {
        secret: Set(secret.clone()),
        previous_secret: Set(Some(current.secret)),
        previous_secret_expires_at: Set(Some(now + settings.secret_overlap)),
        updated_at: Set(now),
        ..Default::default()
    };
    let rotated = work.update::<webhook_endpoint::Entity>(Target::new(id, LABEL), changes).await?;
    work.commit().await?;
    Ok((rotated, secret))
}

/// Deletes an endpoint and every delivery queued for it or recorded.
pub async fn delete(principal: &Principal, w: &Writer, id: i64) -> ApiResult<webhook_endpoint::Model> {
    ensure_admin(principal)?;
    let now = crate::service::now();
    let mut work = w.begin(principal).await?;
    let changes = webhook_endpoint::ActiveModel {
        enabled: Set(false),
        deleted_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    };
    let deleted = work.update::<webhook_endpoint::Entity>(Target::new(id, LABEL), changes).await?;
    super::queue::forget_endpoint(work.db(), id).await?;
    work.commit().await?;
    Ok(deleted)
}

/// Every endpoint that is not deleted, newest first (ADMIN).
pub async fn list(principal: &Principal, db: &impl ConnectionTrait) -> ApiResult<Vec<webhook_endpoint::Model>> {
    ensure_admin(principal)?;
    Ok(webhook_endpoint::Entity::find().filter(Column::DeletedAt.is_null()).order_by_desc(Column::Id).all(db).await?)
}

/// Endpoints by id; nothing for anyone but an ADMIN.
pub async fn by_ids(
    principal: &Principal,
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> ApiResult<Vec<webhook_endpoint::Model>> {
    if !principal.is_admin() {
        return Ok(Vec::new());
    }
    let found = webhook_endpoint::Entity::find().filter(Column::Id.is_in(ids.iter().copied()));
    Ok(found.filter(Column::DeletedAt.is_null()).all(db).await?)
}

/// The endpoint `id` unless deleted; NOT_FOUND otherwise.
pub async fn live(db: &impl ConnectionTrait, id: i64) -> ApiResult<webhook_endpoint::Model> {
    let found = webhook_endpoint::Entity::find_by_id(id).filter(Column::DeletedAt.is_null()).one(db).await?;
    found.ok_or(ApiError::NotFound(LABEL))
}
