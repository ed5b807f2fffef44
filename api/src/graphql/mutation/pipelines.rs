//! ADMIN mutations shaping the sales process: pipelines, stages, lost reasons.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::{LostReason, Pipeline, Stage};
use crate::service::pipelines::{self, StageForCreate, StageForUpdate};

/// A stage given with a new pipeline.
#[derive(InputObject)]
pub struct PipelineStageInput {
    /// The stage's name (≤ 200 characters).
    pub name: String,
    /// Win probability, 0–100.
    pub probability: i32,
    /// An open deal in this stage longer than this many days (1–3650) is stale; never
    /// when omitted.
    pub stale_after_days: Option<i32>,
}

/// A new pipeline, optionally with its stages in order.
#[derive(InputObject)]
pub struct CreatePipelineInput {
    /// The pipeline's name (≤ 200 characters).
    pub name: String,
    /// Make it the default pipeline (the first pipeline always is).
    #[graphql(default)]
    pub is_default: bool,
    /// Stages in order.
    #[graphql(default)]
    pub stages: Vec<PipelineStageInput>,
}

/// A new stage.
#[derive(InputObject)]
pub struct CreateStageInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// The stage's name (≤ 200 characters).
    pub name: String,
    /// Win probability, 0–100.
    pub probability: i32,
    /// 1-based position; later stages move down. Last when omitted.
    pub position: Option<i32>,
    /// An open deal in this stage longer than this many days (1–3650) is stale; never
    /// when omitted.
    pub stale_after_days: Option<i32>,
}

/// Changes to a stage. A new position reorders the pipeline, keeping positions unique.
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// The stage.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// A new name for the stage.
    pub name: Option<String>,
    /// Win probability, 0–100.
    pub probability: Option<i32>,
    /// New 1-based position.
    pub position: Option<i32>,
    /// Days (1–3650) after which an open deal in this stage is stale; null: never.
    pub stale_after_days: MaybeUndefined<i32>,
}

/// A new lost reason.
#[derive(InputObject)]
pub struct CreateLostReasonInput {
    /// The reason as reps will pick it (≤ 200 characters).
    pub name: String,
}

/// Changes to a lost reason.
#[derive(InputObject)]
pub struct UpdateLostReasonInput {
    /// The lost reason.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// A new wording of the reason.
    pub name: Option<String>,
    /// Whether it can still be chosen.
    pub active: Option<bool>,
}

/// The created pipeline.
#[derive(SimpleObject)]
pub struct CreatePipelinePayload {
    /// The pipeline, with its stages.
    pub pipeline: Pipeline,
}

/// The stage after the change.
#[derive(SimpleObject)]
pub struct StagePayload {
    /// The stage.
    pub stage: Stage,
}

/// The lost reason after the change.
#[derive(SimpleObject)]
pub struct LostReasonPayload {
    /// The lost reason.
    pub lost_reason: LostReason,
}

#[derive(Default)]
pub struct PipelineMutation;

#[Object]
impl PipelineMutation {
    /// Creates a pipeline with its stages (ADMIN).
    async fn create_pipeline(&self, ctx: &Context<'_>, input: CreatePipelineInput) -> Result<CreatePipelinePayload> {
        let stages = input
            .stages
            .into_iter()
            .map(|s| StageForCreate { name: s.name, probability: s.probability, stale_after_days: s.stale_after_days })
            .collect();
        let (pipeline, _) =
            pipelines::create_pipeline(ctx.principal().await?, ctx.writer(), &input.name, input.is_default, stages)
                .await?;
        Ok(CreatePipelinePayload { pipeline: Pipeline(pipeline) })
    }

    /// Adds a stage to a pipeline (ADMIN).
    async fn create_stage(&self, ctx: &Context<'_>, input: CreateStageInput) -> Result<StagePayload> {
        let pipeline_id = decode("pipelineId", &input.pipeline_id, NodeKind::Pipeline)?;
        let stage = pipelines::create_stage(
            ctx.principal().await?,
            ctx.writer(),
            pipeline_id,
            StageForCreate {
                name: input.name,
                probability: input.probability,
                stale_after_days: input.stale_after_days,
            },
            input.position,
        )
        .await?;
        Ok(StagePayload { stage: Stage(stage) })
    }

    /// Renames, re-weights or reorders a stage (ADMIN).
    async fn update_stage(&self, ctx: &Context<'_>, input: UpdateStageInput) -> Result<StagePayload> {
        let id = decode("id", &input.id, NodeKind::Stage)?;
        let data = StageForUpdate {
            version: input.version,
            name: input.name,
            probability: input.probability,
            position: input.position,
            stale_after_days: super::patch(input.stale_after_days),
        };
        Ok(StagePayload {
            stage: Stage(pipelines::update_stage(ctx.principal().await?, ctx.writer(), id, data).await?),
        })
    }

    /// Adds a lost reason (ADMIN).
    async fn create_lost_reason(&self, ctx: &Context<'_>, input: CreateLostReasonInput) -> Result<LostReasonPayload> {
        let reason = pipelines::create_lost_reason(ctx.principal().await?, ctx.writer(), &input.name).await?;
        Ok(LostReasonPayload { lost_reason: LostReason(reason) })
    }

    /// Renames or (de)activates a lost reason (ADMIN).
    async fn update_lost_reason(&self, ctx: &Context<'_>, input: UpdateLostReasonInput) -> Result<LostReasonPayload> {
        let id = decode("id", &input.id, NodeKind::LostReason)?;
        let reason = pipelines::update_lost_reason(
            ctx.principal().await?,
            ctx.writer(),
            id,
            input.version,
            input.name,
            input.active,
        )
        .await?;
        Ok(LostReasonPayload { lost_reason: LostReason(reason) })
    }
}
