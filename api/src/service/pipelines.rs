//! Pipelines, their ordered stages, and lost reasons. Everyone signed in reads them;
//! only ADMIN changes them.

use entity::{lost_reason, pipeline, stage};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, Set, Statement};

use super::scope::ensure_admin;
use super::validate;
use super::work::{Target, Work, Writer};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<pipeline::Model>> {
    Ok(pipeline::Entity::find()
        .order_by_desc(pipeline::Column::IsDefault)
        .order_by_asc(pipeline::Column::Id)
        .all(db)
        .await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<pipeline::Model>> {
    Ok(pipeline::Entity::find().filter(pipeline::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The pipeline named by `id`, or the default one.
pub async fn resolve(db: &impl ConnectionTrait, id: Option<i64>) -> ApiResult<pipeline::Model> {
    let found = match id {
        Some(id) => pipeline::Entity::find_by_id(id).one(db).await?,
        None => {
            pipeline::Entity::find()
                .order_by_desc(pipeline::Column::IsDefault)
                .order_by_asc(pipeline::Column::Id)
                .one(db)
                .await?
        }
    };
    found.ok_or_else(|| ApiError::bad_input("pipelineId", "no such pipeline"))
}

pub async fn stages_by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<stage::Model>> {
    Ok(stage::Entity::find().filter(stage::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The stages of these pipelines, in position order.
pub async fn stages_of(db: &impl ConnectionTrait, pipeline_ids: &[i64]) -> ApiResult<Vec<stage::Model>> {
    Ok(stage::Entity::find()
        .filter(stage::Column::PipelineId.is_in(pipeline_ids.iter().copied()))
        .order_by_asc(stage::Column::PipelineId)
        .order_by_asc(stage::Column::Position)
        .all(db)
        .await?)
}

pub async fn lost_reasons(db: &impl ConnectionTrait, include_inactive: bool) -> ApiResult<Vec<lost_reason::Model>> {
    let mut q = lost_reason::Entity::find().order_by_asc(lost_reason::Column::Name);
    if !include_inactive {
        q = q.filter(lost_reason::Column::Active.eq(true));
    }
    Ok(q.all(db).await?)
}

pub async fn lost_reasons_by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<lost_reason::Model>> {
    Ok(lost_reason::Entity::find().filter(lost_reason::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// A stage with a name and win probability, as given when a pipeline is created.
#[derive(Debug, Clone)]
pub struct StageForCreate {
    pub name: String,
    pub probability: i32,
    pub stale_after_days: Option<i32>,
}

/// Days after which an open deal in a stage is stale: 1 to 3,650 (ten years).
fn stale_after(field: &str, days: Option<i32>) -> ApiResult<Option<i32>> {
    match days {
        Some(d) if !(1..=3650).contains(&d) => Err(ApiError::bad_input(field, "must be between 1 and 3650 days")),
        _ => Ok(days),
    }
}

fn probability(value: i32) -> ApiResult<i32> {
    if (0..=100).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input("probability", "must be between 0 and 100"))
    }
}

pub async fn create_pipeline(
    principal: &Principal,
    w: &Writer,
    name: &str,
    is_default: bool,
    stages: Vec<StageForCreate>,
) -> ApiResult<(pipeline::Model, Vec<stage::Model>)> {
    ensure_admin(principal)?;
    let name = validate::required("name", name, 200)?;
    for s in &stages {
        validate::required("stages.name", &s.name, 200)?;
        probability(s.probability)?;
        stale_after("stages.staleAfterDays", s.stale_after_days)?;
    }
    let mut work = w.begin(principal).await?;
    let now = super::now();
    let any_pipeline = pipeline::Entity::find().one(work.db()).await?.is_some();
    let is_default = is_default || !any_pipeline;
    if is_default {
        let defaults = pipeline::Entity::find().filter(pipeline::Column::IsDefault.eq(true)).all(work.db()).await?;
        for previous in defaults {
            let changes = pipeline::ActiveModel { is_default: Set(false), updated_at: Set(now), ..Default::default() };
            work.update::<pipeline::Entity>(Target::new(previous.id, "Pipeline"), changes).await?;
        }
    }
    let row = pipeline::ActiveModel {
        id: NotSet,
        name: Set(name),
        is_default: Set(is_default),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let created = work.insert(row).await?;
    let mut created_stages = Vec::new();
    for (i, s) in stages.into_iter().enumerate() {
        let stage = StageForCreate { name: s.name.trim().to_owned(), ..s };
        created_stages.push(insert_stage(&mut work, created.id, &stage, i as i32 + 1).await?);
    }
    work.commit().await?;
    Ok((created, created_stages))
}

async fn insert_stage(
    work: &mut Work,
    pipeline_id: i64,
    stage: &StageForCreate,
    position: i32,
) -> ApiResult<stage::Model> {
    let now = super::now();
    let row = stage::ActiveModel {
        id: NotSet,
        pipeline_id: Set(pipeline_id),
        name: Set(stage.name.clone()),
        position: Set(position),
        probability: Set(stage.probability),
        stale_after_days: Set(stage.stale_after_days),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    work.insert(row).await
}

/// Adds a stage to a pipeline, at `position` (1-based; later stages shift down) or last.
pub async fn create_stage(
    principal: &Principal,
    w: &Writer,
    pipeline_id: i64,
    stage: StageForCreate,
    position: Option<i32>,
) -> ApiResult<stage::Model> {
    ensure_admin(principal)?;
    let stage = StageForCreate {
        name: validate::required("name", &stage.name, 200)?,
        probability: probability(stage.probability)?,
        stale_after_days: stale_after("staleAfterDays", stage.stale_after_days)?,
    };
    let mut work = w.begin(principal).await?;
    if pipeline::Entity::find_by_id(pipeline_id).one(work.db()).await?.is_none() {
        return Err(ApiError::bad_input("pipelineId", "no such pipeline"));
    }
    let count = stages_of(work.db(), &[pipeline_id]).await?.len() as i32;
    let created = insert_stage(&mut work, pipeline_id, &stage, count + 1).await?;
    if let Some(position) = position {
        reorder(&mut work, pipeline_id, created.id, position).await?;
    }
    let created = stage::Entity::find_by_id(created.id).one(work.db()).await?.ok_or(ApiError::NotFound("Stage"))?;
    work.commit().await?;
    Ok(created)
}

#[derive(Debug, Clone, Default)]
pub struct StageForUpdate {
    pub version: i32,
    pub name: Option<String>,
    pub probability: Option<i32>,
    pub position: Option<i32>,
    /// `Some(None)` clears it.
    pub stale_after_days: Option<Option<i32>>,
}

pub async fn update_stage(
    principal: &Principal,
    w: &Writer,
    id: i64,
    input: StageForUpdate,
) -> ApiResult<stage::Model> {
    ensure_admin(principal)?;
    let mut changes = stage::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    if let Some(name) = &input.name {
        changes.name = Set(validate::required("name", name, 200)?);
    }
    if let Some(p) = input.probability {
        changes.probability = Set(probability(p)?);
    }
    if let Some(days) = input.stale_after_days {
        changes.stale_after_days = Set(stale_after("staleAfterDays", days)?);
    }
    let mut work = w.begin(principal).await?;
    let target =
        Target::new(id, "Stage").version(Some(input.version)).unique("position", "another stage has this position");
    let current = work.update::<stage::Entity>(target, changes).await?;
    if let Some(position) = input.position {
        reorder(&mut work, current.pipeline_id, id, position).await?;
    }
    let updated = stage::Entity::find_by_id(id).one(work.db()).await?.ok_or(ApiError::NotFound("Stage"))?;
    work.commit().await?;
    Ok(updated)
}

/// Moves stage `id` to `position` (clamped to 1..=n) and renumbers the pipeline 1..=n.
/// Positions stay unique at every statement: they are parked at negative values first.
/// Each deal's highest reached position is recomputed from its history, because it is
/// stored as a position.
async fn reorder(work: &mut Work, pipeline_id: i64, id: i64, position: i32) -> ApiResult<()> {
    let before = stages_of(work.db(), &[pipeline_id]).await?;
    let mut order: Vec<i64> = before.iter().map(|s| s.id).filter(|s| *s != id).collect();
    let index = (Ord::max(position, 1) as usize - 1).min(order.len());
    order.insert(index, id);
    let db = work.db();
    stage::Entity::update_many()
        .col_expr(stage::Column::Position, Expr::col(stage::Column::Position).mul(-1))
        .filter(stage::Column::PipelineId.eq(pipeline_id))
        .exec(db)
        .await?;
    let now = super::now();
    for (i, stage_id) in order.iter().enumerate() {
        stage::Entity::update_many()
            .col_expr(stage::Column::Position, Expr::value(i as i32 + 1))
            .col_expr(stage::Column::UpdatedAt, Expr::value(now))
            .filter(stage::Column::Id.eq(*stage_id))
            .exec(db)
            .await?;
    }
    // Each renumbered stage is logged (and its pipeline's funnel cells locked for the
    // recompute) before any deal changes.
    let after = stages_of(work.db(), &[pipeline_id]).await?;
    for now in &after {
        if let Some(was) = before.iter().find(|b| b.id == now.id && b.position != now.position) {
            work.track::<stage::Entity>(was, now).await?;
        }
    }
    let db = work.db();
    let backend = db.get_database_backend();
    let placeholder = if backend == sea_orm::DatabaseBackend::Postgres { "$1" } else { "?" };
    let sql = format!(
        "UPDATE deals SET max_stage_position = COALESCE((SELECT MAX(s.position) FROM deal_stage_events e \
         JOIN stages s ON s.id = e.to_stage_id WHERE e.deal_id = deals.id), max_stage_position) \
         WHERE pipeline_id = {placeholder}"
    );
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [pipeline_id.into()])).await?;
    Ok(())
}

pub async fn create_lost_reason(principal: &Principal, w: &Writer, name: &str) -> ApiResult<lost_reason::Model> {
    ensure_admin(principal)?;
    let now = super::now();
    let row = lost_reason::ActiveModel {
        id: NotSet,
        name: Set(validate::required("name", name, 200)?),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut work = w.begin(principal).await?;
    let created = work.insert(row).await?;
    work.commit().await?;
    Ok(created)
}

pub async fn update_lost_reason(
    principal: &Principal,
    w: &Writer,
    id: i64,
    version: i32,
    name: Option<String>,
    active: Option<bool>,
) -> ApiResult<lost_reason::Model> {
    ensure_admin(principal)?;
    let mut changes = lost_reason::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    if let Some(name) = name {
        changes.name = Set(validate::required("name", &name, 200)?);
    }
    if let Some(active) = active {
        changes.active = Set(active);
    }
    let mut work = w.begin(principal).await?;
    let target = Target::new(id, "LostReason").version(Some(version)).unique("name", "duplicate");
    let updated = work.update::<lost_reason::Entity>(target, changes).await?;
    work.commit().await?;
    Ok(updated)
}
