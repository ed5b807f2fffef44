//! `node(id:)`: any object by its global ID, under the same scope as every other read.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode_any};
use crate::graphql::types::api_key::ApiKey;
use crate::graphql::types::exchange_rate::ExchangeRate;
use crate::graphql::types::node::Node;
use crate::graphql::types::note::Note;
use crate::graphql::types::task::Task;
use crate::graphql::types::webhook::{WebhookDelivery, WebhookEndpoint};
use crate::graphql::types::{
    Company, Contact, Deal, DealStageEvent, LostReason, Meeting, Pipeline, Stage, Target, Team, User,
};
use crate::service::directory::{self, TargetFilter};
use crate::service::webhooks::queue;
use crate::service::{api_keys, deals};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global ID, or null when it does not exist or is not visible.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (kind, id) = decode_any("id", &id)?;
        load(ctx, kind, id).await
    }
}

/// The object `kind:id` as the caller may see it (also the `node` of a change event).
pub async fn load(ctx: &Context<'_>, kind: NodeKind, id: i64) -> Result<Option<Node>> {
    let loaders = ctx.loaders().await?;
    Ok(match kind {
        NodeKind::User => loaders.users.load_one(id).await?.map(|m| Node::User(User(m))),
        NodeKind::Team => loaders.teams.load_one(id).await?.map(|m| Node::Team(Team(m))),
        NodeKind::Target => {
            let filter = TargetFilter { id: Some(id), ..Default::default() };
            directory::targets(ctx.principal().await?, ctx.db(), &filter).await?.pop().map(|m| Node::Target(Target(m)))
        }
        NodeKind::Contact => loaders.contacts.load_one(id).await?.map(|m| Node::Contact(Contact(m))),
        NodeKind::Company => loaders.companies.load_one(id).await?.map(|m| Node::Company(Company(m))),
        NodeKind::Note => loaders.notes.load_one(id).await?.map(|m| Node::Note(Note(m))),
        NodeKind::Task => loaders.tasks.load_one(id).await?.map(|m| Node::Task(Task(m))),
        NodeKind::Deal => {
            let read = Deal::read_of(ctx.field());
            loaders.deals.load_one((id, read)).await?.map(|r| Node::Deal(Deal::joined(r)))
        }
        NodeKind::Meeting => loaders.meetings.load_one(id).await?.map(|m| Node::Meeting(Meeting(m))),
        NodeKind::Pipeline => loaders.pipelines.load_one(id).await?.map(|m| Node::Pipeline(Pipeline(m))),
        NodeKind::Stage => loaders.stages.load_one(id).await?.map(|m| Node::Stage(Stage(m))),
        NodeKind::LostReason => loaders.lost_reasons.load_one(id).await?.map(|m| Node::LostReason(LostReason(m))),
        NodeKind::DealStageEvent => stage_event(ctx, id).await?,
        NodeKind::ApiKey => {
            api_keys::by_ids(ctx.principal().await?, ctx.db(), &[id]).await?.pop().map(|m| Node::ApiKey(ApiKey(m)))
        }
        NodeKind::WebhookEndpoint => {
            loaders.webhook_endpoints.load_one(id).await?.map(|m| Node::WebhookEndpoint(WebhookEndpoint(m)))
        }
        NodeKind::ExchangeRate => {
            crate::service::currency::rate_by_id(ctx.db(), id).await?.map(|m| Node::ExchangeRate(ExchangeRate(m)))
        }
        NodeKind::CustomField => crate::service::custom_fields::definitions::get(ctx.db(), id)
            .await?
            .map(|d| Node::CustomField(crate::graphql::types::custom_field::CustomField(d))),
        NodeKind::WebhookDelivery => {
            let found = queue::by_ids(ctx.principal().await?, ctx.db(), &[id]).await?.pop();
            found.map(|m| Node::WebhookDelivery(WebhookDelivery(m)))
        }
    })
}

/// A stage event is visible when its deal is.
async fn stage_event(ctx: &Context<'_>, id: i64) -> Result<Option<Node>> {
    let event = deals::event(ctx.principal().await?, ctx.db(), id).await?;
    Ok(event.map(|e| Node::DealStageEvent(DealStageEvent(e))))
}
