//! The node's HTTP errors: OpenAI-style error objects (`{"error": {"message", "type", "param",
//! "code"}}`) with the status codes OpenAI clients expect, and `Retry-After` on 429.
//!
//! Messages never carry request content or tokens: they name what was wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_permissions::GrantError;
use serde_json::json;

use crate::WebError;

/// An error answer.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, ...).
    pub kind: &'static str,
    /// A stable code (`missing_token`, `check_failed`, `over_capacity`, ...).
    pub code: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// The request parameter at fault, if one is.
    pub param: Option<&'static str>,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        Self {
            status,
            kind,
            code,
            message,
            param: None,
            retry_after: None,
        }
    }

    /// 400: a request that makes no sense.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message.into(),
        )
    }

    /// 400 naming the parameter at fault.
    pub fn invalid_param(param: &'static str, message: impl Into<String>) -> Self {
        Self {
            param: Some(param),
            ..Self::invalid("invalid_value", message)
        }
    }

    /// 401: no grant, or one that is not valid.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            code,
            message.into(),
        )
    }

    /// 404: no such model or route.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            code,
            message.into(),
        )
    }

    /// 413: a request body over the node's limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("the request body is over the node's limit of {limit} bytes"),
        )
    }

    /// 429: the node is at capacity; retry after `secs`.
    pub fn over_capacity(what: &str, secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "over_capacity",
                format!("the node is at capacity for {what}: retry in {secs} s"),
            )
        }
    }

    /// 503: the node is shutting down.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "shutting_down",
            "the node is shutting down".into(),
        )
    }

    /// 500: something failed inside the node. The cause goes to the node's log (it names
    /// objects, never content); the client gets no detail.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        eprintln!("hearth serve: internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            "the node failed to answer this request; its log says why".into(),
        )
    }
}

impl From<GrantError> for ApiError {
    fn from(error: GrantError) -> Self {
        let code = error.code();
        let message = error.to_string();
        match error {
            GrantError::CheckFailed { .. } => {
                Self::new(StatusCode::FORBIDDEN, "permission_error", code, message)
            }
            GrantError::UnknownRight(_) | GrantError::Invalid(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                code,
                message,
            ),
            GrantError::OverQuota {
                retry_after_secs, ..
            } => Self {
                retry_after: Some(retry_after_secs.max(1)),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    code,
                    message,
                )
            },
            GrantError::BadSignature
            | GrantError::Expired(_)
            | GrantError::NotYetValid(_)
            | GrantError::Revoked
            | GrantError::WrongAudience
            | GrantError::ProofMissing
            | GrantError::ProofReplayed
            | GrantError::ProofInvalid(_) => Self::unauthorized(code, message),
        }
    }
}

impl From<WebError> for ApiError {
    fn from(error: WebError) -> Self {
        Self::internal(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hearth\""),
            );
        }
        response
    }
}
