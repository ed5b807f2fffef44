//! HTTP endpoints for GraphQL: JSON POSTs, read-only GETs, and GraphiQL.
//!
//! Transport rules (SPEC section 7): POST bodies must be `application/json`, JSON-array
//! batches are refused, mutations never run over GET, and credentials come only from the
//! `Authorization` header. Every error leaves with an `extensions.code`.

use async_graphql::{ErrorExtensions, Request, Response as GqlResponse, ServerError};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::graphql::authenticate;
use crate::graphql::batching::PollGate;
use crate::graphql::graphiql;
use crate::graphql::loaders::Loaders;
use crate::graphql::meter::Meter;
use crate::graphql::shape;
use crate::service::budget::Payer;

/// The connection's peer address, when the server was started with connect info.
pub struct Peer(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0)))
    }
}

/// The client's address as resolvers see it (request data): the peer, or with
/// `CRM_TRUST_FORWARDED_FOR` the first `X-Forwarded-For` entry.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    fn of(peer: &Peer, headers: &HeaderMap, trust_forwarded_for: bool) -> Self {
        let forwarded = || {
            let first = headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next()?;
            first.trim().parse().ok()
        };
        let forwarded = if trust_forwarded_for { forwarded() } else { None };
        Self(forwarded.or(peer.0.map(|a| a.ip())))
    }
}

pub async fn post(State(state): State<AppState>, peer: Peer, headers: HeaderMap, body: Body) -> Response {
    // Boxed: the execution's future is kilobytes, and axum moves the handler's future
    // several times before polling it; a small one moves cheaply.
    with_policy(&state, Box::pin(answer_post(&state, &peer, &headers, body)).await)
}

/// `GET /graphql`: GraphiQL for browsers, or a query (or a persisted query's hash) in the
/// URL. Mutations are refused (405).
pub async fn get(State(state): State<AppState>, peer: Peer, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let Some(raw) = raw.filter(|q| !q.is_empty()) else {
        return graphiql::page().await.into_response();
    };
    let response = match from_query_string(&raw) {
        Ok(request) => execute(&state, &peer, &headers, request, Method::Get).await,
        Err(e) => crate::wire::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("bad query string: {e}")),
    };
    with_policy(&state, response)
}

/// Every answer of the endpoint names the budget policy, also one refused before its
/// caller was known (and so before anything was charged: those carry no `RateLimit`).
fn with_policy(state: &AppState, mut response: Response) -> Response {
    crate::graphql::meter::set_policy(&state.services.budgets, response.headers_mut());
    response
}

async fn answer_post(state: &AppState, peer: &Peer, headers: &HeaderMap, body: Body) -> Response {
    if !is_json(headers) {
        return crate::wire::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "POST /graphql takes Content-Type: application/json",
        );
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let body = match crate::wire::read_body(body, declared, state.config.http.body_limit_bytes).await {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return crate::wire::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "batched operations are not supported");
    }
    // Straight into the request (no JSON tree first); the error's category tells bad JSON
    // from JSON that is not a GraphQL request.
    match serde_json::from_slice::<Request>(&body) {
        Ok(request) => execute(state, peer, headers, request, Method::Post).await,
        Err(e) if e.is_data() => {
            crate::wire::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("not a GraphQL request: {e}"))
        }
        Err(_) => crate::wire::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request body is not valid JSON"),
    }
}

/// A GET request's parameters (GraphQL over HTTP): `query`, `operationName`, and JSON in
/// `variables` and `extensions`.
fn from_query_string(raw: &str) -> Result<Request, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        #[serde(default)]
        query: String,
        operation_name: Option<String>,
        variables: Option<String>,
        extensions: Option<String>,
    }
    let params: Params = serde_urlencoded::from_str(raw).map_err(|e| e.to_string())?;
    fn json<T: serde::de::DeserializeOwned + Default>(text: Option<String>, what: &str) -> Result<T, String> {
        match text {
            Some(text) => serde_json::from_str(&text).map_err(|e| format!("{what} is not JSON: {e}")),
            None => Ok(T::default()),
        }
    }
    let mut request = Request::new(params.query).variables(json(params.variables, "variables")?);
    request.extensions = json(params.extensions, "extensions")?;
    request.operation_name = params.operation_name;
    Ok(request)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

async fn execute(state: &AppState, peer: &Peer, headers: &HeaderMap, mut request: Request, method: Method) -> Response {
    let media = Media::of(headers);
    let kept = match state.documents.prepare(&mut request) {
        Ok(kept) => kept,
        Err(err) => return reply(media, StatusCode::OK, GqlResponse::from_errors(vec![err])),
    };
    // Parses the document once (the executor reuses it) and checks the limits the executor
    // does not enforce and the argument values, before any SQL runs.
    let mut shape = shape::inspect(&mut request, &state.index);
    if method == Method::Get && shape.as_ref().is_some_and(|s| s.mutation) {
        let mut response =
            crate::wire::error(StatusCode::METHOD_NOT_ALLOWED, "BAD_REQUEST", "mutations are only accepted over POST");
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    if let Some(reason) = shape.as_ref().and_then(|s| shape::limit_violation(s, &state.config.limits)) {
        return reply(media, StatusCode::OK, GqlResponse::from_errors(vec![limit_error(reason)]));
    }
    if let Some(invalid) = shape.as_mut().and_then(|s| invalid_inputs(std::mem::take(&mut s.invalid_inputs))) {
        return reply(media, StatusCode::OK, GqlResponse::from_errors(vec![invalid]));
    }
    let credential = match bearer(headers) {
        Ok(credential) => credential,
        Err(err) => {
            return reply(media, StatusCode::UNAUTHORIZED, GqlResponse::from_errors(vec![request_error(&err)]));
        }
    };
    if credential.is_none() && shape.as_ref().is_some_and(|s| s.introspects) {
        let err = ApiError::Unauthenticated("introspection is available to signed-in callers only".into());
        return reply(media, StatusCode::UNAUTHORIZED, GqlResponse::from_errors(vec![request_error(&err)]));
    }
    let address = ClientAddress::of(peer, headers, state.config.auth.trust_forwarded_for);
    let meter = Meter::new(shape.as_ref().map_or(1, |s| s.cost));
    let budgets = &state.services.budgets;
    let metered = |mut response: Response| {
        meter.set_headers(response.headers_mut());
        response
    };
    // Signed-in callers are charged when their credential is checked; anonymous ones now.
    if credential.is_none()
        && let Err(refusal) = meter.charge(budgets, Payer::anonymous(address.0))
    {
        let mut response = GqlResponse::from_errors(vec![request_error(&refusal)]);
        meter.annotate(&mut response);
        return metered(too_many(media, retry_after_of(&refusal), response));
    }
    // Anonymous callers get neither introspection nor "did you mean" hints.
    let introspection = credential.is_some() && state.config.limits.introspection;
    let caller = credential.map(Caller::with_credential).unwrap_or_default();
    let gate = PollGate::default();
    let mut request = request.data(caller.clone()).data(address).data(meter.clone());
    if caller.bearer().is_some() {
        request = request.data(Loaders::new(&state.services, &caller, &gate));
    }
    if !introspection {
        request = request.disable_introspection();
    }
    let operation = shape.as_ref().and_then(|s| s.operation.clone());
    let operation_name = request.operation_name.clone();
    let validated = kept.as_ref().is_some_and(|k| k.validated(operation_name.as_deref()));
    let schema = if validated { &state.validated_schema } else { &state.schema };
    let started = std::time::Instant::now();
    let mut response = gate.run(schema.execute(request)).await;
    crate::telemetry::record_operation(operation.as_deref(), started.elapsed());
    if let Some(kept) = kept.filter(|_| !validated && ran(&response)) {
        kept.passed(operation_name.as_deref());
    }
    // A credential no resolver needed (`{ __typename }`) is checked (and charged) all the
    // same: one that does not authenticate is never taken as anonymous. Not after a
    // rejected document, which must cost no SQL.
    if caller.bearer().is_some() && !caller.was_checked() && ran(&response) {
        let _ = authenticate::resolve(&caller, &state.services, Some(&meter)).await;
    }
    if let Some(refusal) = caller.refusal() {
        let mut refused_response = GqlResponse::from_errors(vec![request_error(refusal)]);
        meter.annotate(&mut refused_response);
        return metered(match refusal {
            ApiError::Throttled { .. } => too_many(media, retry_after_of(refusal), refused_response),
            _ => reply(media, authenticate::status_of(refusal), refused_response),
        });
    }
    meter.annotate(&mut response);
    label_errors(&mut response.errors, !introspection);
    if let Some(retry_after) = throttled(&response) {
        return metered(too_many(media, retry_after, response));
    }
    metered(reply(media, StatusCode::OK, response))
}

/// Whether the operation ran: errors without a path never reached a field, so a response
/// with nothing but those is a request that did not parse, validate or select an operation.
fn ran(response: &GqlResponse) -> bool {
    response.data != async_graphql::Value::Null || response.errors.iter().any(|e| !e.path.is_empty())
}

/// BAD_USER_INPUT naming every argument value that does not fit its type, if any.
pub fn invalid_inputs(fields: Vec<(String, String)>) -> Option<ServerError> {
    crate::service::validate::invalid(fields).map(|err| request_error(&err))
}

/// HTTP 429 with `Retry-After`.
fn too_many(media: Media, retry_after_secs: u64, response: GqlResponse) -> Response {
    let mut out = reply(media, StatusCode::TOO_MANY_REQUESTS, response);
    out.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
    out
}

fn retry_after_of(refusal: &ApiError) -> u64 {
    match refusal {
        ApiError::Throttled { retry_after_secs, .. } => *retry_after_secs,
        _ => 1,
    }
}

/// The response media type the client asked for (GraphQL over HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/json`: every GraphQL result is HTTP 200 (the legacy rule).
    Json,
    /// `application/graphql-response+json`: a request that does not run (it does not parse,
    /// validate, or its variables do not fit) is HTTP 400 and has no `data`.
    GraphqlResponse,
}

impl Media {
    const GRAPHQL_RESPONSE: &'static str = "application/graphql-response+json";

    fn of(headers: &HeaderMap) -> Self {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if accept.to_ascii_lowercase().contains(Self::GRAPHQL_RESPONSE) { Self::GraphqlResponse } else { Self::Json }
    }
}

/// The HTTP response for a GraphQL response, its errors counted by code for `/metrics`.
fn reply(media: Media, status: StatusCode, response: GqlResponse) -> Response {
    let codes = response.errors.iter().filter_map(|e| match e.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    });
    crate::telemetry::count_errors(codes);
    if media == Media::Json {
        return (status, Json(response)).into_response();
    }
    let not_run = !response.errors.is_empty() && !ran(&response);
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    let status = if not_run && status == StatusCode::OK {
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let content_type = header::HeaderValue::from_static("application/graphql-response+json; charset=utf-8");
    (status, [(header::CONTENT_TYPE, content_type)], body.to_string()).into_response()
}

/// The longest `retryAfter` when nothing but throttled fields failed and nothing came back:
/// such a response is HTTP 429 with `Retry-After`.
fn throttled(response: &GqlResponse) -> Option<u64> {
    if response.data != async_graphql::Value::Null || response.errors.is_empty() {
        return None;
    }
    let waits: Option<Vec<u64>> = response
        .errors
        .iter()
        .map(|e| {
            let ext = e.extensions.as_ref()?;
            match ext.get("retryAfter")? {
                async_graphql::Value::Number(n) => n.as_u64(),
                _ => None,
            }
        })
        .collect();
    waits?.into_iter().max()
}

/// Reads `Authorization: Bearer …`. No header is anonymous; a header that is not a bearer
/// credential is UNAUTHENTICATED, never silently anonymous.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(crate::auth::bearer_token)
        .ok_or_else(|| ApiError::Unauthenticated("Authorization must be `Bearer <token>`".into()))?;
    Ok(Some(token.to_owned()))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime == "application/graphql-response+json"
        })
        .unwrap_or(false)
}

/// Parse, validation and limit errors come from async-graphql without a code; give them
/// one. `no_hints`: the caller may not introspect, so "did you mean" hints are removed.
fn label_errors(errors: &mut [ServerError], no_hints: bool) {
    for err in errors.iter_mut() {
        if no_hints && let Some(at) = err.message.find(" Did you mean") {
            err.message.truncate(at);
        }
        let has_code = err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            let code = code_for_unlabelled(!err.path.is_empty());
            err.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
}

/// `label_errors` for errors already serialized (subscription messages over WebSocket).
pub fn label_json_errors(errors: &mut serde_json::Value) {
    let Some(errors) = errors.as_array_mut() else { return };
    for err in errors {
        let at_field = err["path"].as_array().is_some_and(|path| !path.is_empty());
        let Some(error) = err.as_object_mut() else { continue };
        let extensions = error.entry("extensions").or_insert_with(|| serde_json::json!({}));
        if let Some(ext) = extensions.as_object_mut()
            && !ext.contains_key("code")
        {
            ext.insert("code".into(), code_for_unlabelled(at_field).into());
        }
    }
}

/// Every document limit and every argument value is checked before the executor runs
/// (`graphql::shape`, `graphql::inputs`), and resolvers label their own errors, so what is
/// left unlabelled is told apart by where it arose: before any field (the document does
/// not parse or validate) or at a field (a value its Rust type refuses).
fn code_for_unlabelled(at_field: bool) -> &'static str {
    if at_field { "BAD_USER_INPUT" } else { "BAD_REQUEST" }
}

/// An error of the request as a whole: no place in the document (so no `locations`, never
/// a made-up 0:0).
fn request_error(err: &ApiError) -> ServerError {
    let mut error = err.extend().into_server_error(Default::default());
    error.locations.clear();
    error
}

fn limit_error(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_the_peer_unless_a_proxy_is_trusted() {
        let peer = Peer(Some(std::net::SocketAddr::from(([198, 51, 100, 7], 40000))));
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", header::HeaderValue::from_static("203.0.113.9, 10.0.0.1"));
        let ip = |a: ClientAddress| a.0.map(|ip| ip.to_string());
        assert_eq!(ip(ClientAddress::of(&peer, &headers, false)).as_deref(), Some("198.51.100.7"));
        assert_eq!(ip(ClientAddress::of(&peer, &headers, true)).as_deref(), Some("203.0.113.9"));
        assert_eq!(ip(ClientAddress::of(&peer, &HeaderMap::new(), true)).as_deref(), Some("198.51.100.7"));
    }
}
