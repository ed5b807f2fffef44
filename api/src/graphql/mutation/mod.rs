//! The root `Mutation`, merged from one object per domain.

mod auth;
mod contacts;
mod deals;
mod directory;
mod meetings;
mod pipelines;

use async_graphql::MergedObject;

/// Everything that changes data.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutation,
    contacts::ContactMutation,
    deals::DealMutation,
    directory::DirectoryMutation,
    meetings::MeetingMutation,
    pipelines::PipelineMutation,
);
