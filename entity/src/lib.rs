//! sea-orm entities: one module per table of the CRM data model (SPEC section 3).
//!
//! Money columns hold integer minor units (cents); timestamps are UTC.
//! These types carry no GraphQL derives: the API layer wraps them.

pub mod api_key;
pub mod api_key_hash;
pub mod change_event;
pub mod company;
pub mod contact;
pub mod custom_field;
pub mod deal;
pub mod deal_stage_event;
pub mod enums;
pub mod exchange_rate;
pub mod idempotency_key;
pub mod lost_reason;
pub mod meeting;
pub mod note;
pub mod pipeline;
pub mod setting;
pub mod stage;
pub mod target;
pub mod task;
pub mod team;
pub mod user;
pub mod user_password;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub mod prelude {
    pub use super::api_key::Entity as ApiKey;
    pub use super::change_event::Entity as ChangeEvent;
    pub use super::company::Entity as Company;
    pub use super::contact::Entity as Contact;
    pub use super::custom_field::Entity as CustomField;
    pub use super::deal::Entity as Deal;
    pub use super::deal_stage_event::Entity as DealStageEvent;
    pub use super::exchange_rate::Entity as ExchangeRate;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::lost_reason::Entity as LostReason;
    pub use super::meeting::Entity as Meeting;
    pub use super::note::Entity as Note;
    pub use super::pipeline::Entity as Pipeline;
    pub use super::setting::Entity as Setting;
    pub use super::stage::Entity as Stage;
    pub use super::target::Entity as Target;
    pub use super::task::Entity as Task;
    pub use super::team::Entity as Team;
    pub use super::user::Entity as User;
    pub use super::webhook_attempt::Entity as WebhookAttempt;
    pub use super::webhook_delivery::Entity as WebhookDelivery;
    pub use super::webhook_endpoint::Entity as WebhookEndpoint;
}
