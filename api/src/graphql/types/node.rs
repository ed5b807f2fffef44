//! The Relay `Node` interface: every object with a global ID.

use async_graphql::{ID, Interface};

use super::api_key::ApiKey;
use super::custom_field::CustomField;
use super::exchange_rate::ExchangeRate;
use super::note::Note;
use super::task::Task;
use super::webhook::{WebhookDelivery, WebhookEndpoint};
use super::{Company, Contact, Deal, DealStageEvent, LostReason, Meeting, Pipeline, Stage, Target, Team, User};

/// An object with a global ID, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    User(User),
    Team(Team),
    Target(Target),
    Contact(Contact),
    Company(Company),
    Deal(Deal),
    Meeting(Meeting),
    Note(Note),
    Task(Task),
    DealStageEvent(DealStageEvent),
    Pipeline(Pipeline),
    Stage(Stage),
    LostReason(LostReason),
    ApiKey(ApiKey),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
    ExchangeRate(ExchangeRate),
    CustomField(CustomField),
}
