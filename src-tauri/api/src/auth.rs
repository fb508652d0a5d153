//! Who is calling: an API token in `Authorization: Bearer <token>`,
//! verified by the core ([`berth_core::token::verify`]), and the scope a
//! route needs.
//!
//! A bot's own routes take a [`BotCaller`] instead: its lease's token.
//!
//! A handler takes a [`Caller`] of the scope it needs (`Caller<Write>`):
//! the extractor runs before the body is read, so a request without a
//! valid token is refused (401 `unauthorized`) before anything else, and a
//! token of too weak a scope gets 403 `forbidden`. The token is never
//! logged or echoed.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use berth_core::actor::Actor;
use berth_core::bot_lease::{self, BotLease};
use berth_core::token::{self, Identity, Scope};
use berth_core::ErrorCode;
use std::marker::PhantomData;

use crate::error::ApiError;
use crate::ApiState;

/// A scope a route needs.
pub trait Need: Send + Sync + 'static {
    /// The weakest scope allowed.
    const SCOPE: Scope;
}

/// Routes that read (`bots:read`).
pub struct Read;
/// Routes that create, deploy or cancel bots (`bots:write`).
pub struct Write;
/// Administration (`admin`).
pub struct Admin;

impl Need for Read {
    const SCOPE: Scope = Scope::BotsRead;
}
impl Need for Write {
    const SCOPE: Scope = Scope::BotsWrite;
}
impl Need for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// A verified caller whose token allows `N`.
pub struct Caller<N: Need> {
    /// Who the token is.
    pub identity: Identity,
    need: PhantomData<N>,
}

impl<N: Need> Caller<N> {
    /// The actor of changes made on this caller's behalf (`api:<token name>`).
    pub fn actor(&self) -> Actor {
        self.identity.actor()
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in
/// any case, as RFC 9110 allows).
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            ErrorCode::Unauthorized,
            "this route needs an API token: send `Authorization: Bearer <token>` (create one with `berth tokens create`)",
        )
    };
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

impl<N: Need> FromRequestParts<ApiState> for Caller<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let identity = token::verify(state.router().db(), bearer(parts)?).await?;
        if !identity.scope.allows(N::SCOPE) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "token {:?} has scope {}; this route needs {} (or a wider scope)",
                    identity.name,
                    identity.scope,
                    N::SCOPE
                ),
            ));
        }
        Ok(Caller {
            identity,
            need: PhantomData,
        })
    }
}

/// A running bot, by the token of its lease (`BERTH_BOT_TOKEN` in its
/// environment), verified by the core ([`bot_lease::verify`]): valid only
/// for its own bot, its lease's epoch, and while that lease lasts. An API
/// token is not a bot token (401 `unauthorized`), and a bot token is not
/// an API token.
pub struct BotCaller {
    /// The verified lease.
    pub lease: BotLease,
}

impl FromRequestParts<ApiState> for BotCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let lease = bot_lease::verify(state.router().db(), bearer(parts)?).await?;
        Ok(BotCaller { lease })
    }
}
