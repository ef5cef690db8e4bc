//! Console sign-in and sessions: the admin token (compared in constant time) buys a random
//! session id kept in memory with an expiry, sent back as an HttpOnly, SameSite=Strict cookie
//! scoped to `/console`. Every POST behind the sign-in must carry the session's CSRF token;
//! [`require`] checks it before any handler runs, so no form can forget it.
//!
//! Sessions live in this node's memory: a restart signs everyone out, and behind a load balancer
//! the console wants sticky sessions. That is acceptable for an operator tool.

use super::Console;
use super::layout::{self, escape};
use axum::body::Body;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "polypay_console";
/// How long a session lasts after sign-in.
const TTL: Duration = Duration::from_secs(8 * 3600);
/// Most live sessions; signing in beyond it ends the session closest to expiry.
const MAX_SESSIONS: usize = 1024;
/// Largest form body the CSRF check reads (the signature debugger's pasted requests included).
const MAX_FORM_BYTES: usize = 2 << 20;

/// A signed-in operator's session: its id (the cookie) and its CSRF token.
#[derive(Clone)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    /// A short random name of the sign-in for the audit log (`console:<label>`): tells one
    /// operator's session from another's without revealing its cookie.
    pub label: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Session(***)")
    }
}

struct Entry {
    csrf: String,
    label: String,
    expires: Instant,
    /// One-time forms of this session submitted lately, oldest first, with what each made
    /// (`None` while its submission runs).
    forms: std::collections::VecDeque<(String, Option<String>)>,
}

/// One-time forms a session remembers (the latest ones; a browser re-posting an older one
/// after that many others is not a refresh).
const MAX_FORMS: usize = 32;

/// A one-time form's first submission, or a repeated one (a refresh, a double click).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormClaim {
    Fresh,
    /// Submitted before: what it made (`None` while that submission still runs).
    Repeated(Option<String>),
}

/// Every live session of this node.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Opens a new session with fresh random id and CSRF token.
    pub fn open(&self) -> Session {
        let session = Session {
            id: polypay_engine::random_hex(32),
            csrf: polypay_engine::random_hex(16),
            label: polypay_engine::random_hex(4),
        };
        let now = Instant::now();
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, e| e.expires > now);
            if map.len() >= MAX_SESSIONS {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
            let entry = Entry {
                csrf: session.csrf.clone(),
                label: session.label.clone(),
                expires: now + TTL,
                forms: Default::default(),
            };
            map.insert(session.id.clone(), entry);
        }
        session
    }

    /// The live session with this id, if any (an expired one is dropped).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        match map.get(id) {
            Some(e) if e.expires > Instant::now() => Some(Session {
                id: id.to_string(),
                csrf: e.csrf.clone(),
                label: e.label.clone(),
            }),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Claims one-time form `form` of session `id` for its submission: [`FormClaim::Fresh`]
    /// the first time (then [`Sessions::finish_form`] says how it ended), else what the first
    /// submission made. A session that is gone claims nothing new.
    pub fn claim_form(&self, id: &str, form: &str) -> FormClaim {
        let Ok(mut map) = self.map.lock() else {
            return FormClaim::Repeated(None);
        };
        let Some(entry) = map.get_mut(id) else {
            return FormClaim::Repeated(None);
        };
        if let Some((_, made)) = entry.forms.iter().find(|(f, _)| f == form) {
            return FormClaim::Repeated(made.clone());
        }
        if entry.forms.len() >= MAX_FORMS {
            entry.forms.pop_front();
        }
        entry.forms.push_back((form.to_owned(), None));
        FormClaim::Fresh
    }

    /// Ends a claimed form's submission: `Some(what it made)`, or `None` when it changed
    /// nothing (refused input), which frees the form to be corrected and sent again.
    pub fn finish_form(&self, id: &str, form: &str, made: Option<String>) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if let Some(entry) = map.get_mut(id) {
            match made {
                Some(made) => {
                    if let Some(slot) = entry.forms.iter_mut().find(|(f, _)| f == form) {
                        slot.1 = Some(made);
                    }
                }
                None => entry.forms.retain(|(f, _)| f != form),
            }
        }
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

/// The value of cookie `name` among the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn session_cookie(c: &Console, value: &str, max_age: u64) -> String {
    let secure = if c.app.inner.platform.public_base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

fn login_form(error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                "<div class=\"notice warn\" id=\"login-error\">{}</div>",
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        "{error}<div class=\"card\" style=\"max-width:440px\"><form method=\"post\" action=\"/console/login\">\
         <label>Admin token<input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" required></label>\
         <p><button class=\"primary\" type=\"submit\" id=\"sign-in\">Sign in</button></p></form>\
         <p class=\"muted\">The admin token was printed once at first start (or set with POLYPAY_ADMIN_TOKEN).</p></div>"
    )
}

/// `GET /console/login`.
pub async fn login_page(State(c): State<Console>, headers: HeaderMap) -> Response {
    if cookie(&headers, COOKIE).is_some_and(|id| c.sessions.get(&id).is_some()) {
        return Redirect::to("/console").into_response();
    }
    layout::bare(StatusCode::OK, "Sign in", &login_form(None))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /console/login`: the admin token opens a session.
pub async fn login(
    State(c): State<Console>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    let ip = peer.as_ref().map(|axum::Extension(p)| p.0.ip());
    let throttle = &c.app.inner.auth_throttle;
    let now = std::time::Instant::now();
    if let Err(wait) = throttle.check(ip, now) {
        let secs = crate::auth_throttle::retry_after_secs(wait);
        let why = format!("Too many wrong admin tokens from this address: try again in {secs} s.");
        let mut r = layout::bare(
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            &login_form(Some(&why)),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return r;
    }
    if !c.app.admin_token_matches(token.trim()) {
        tracing::warn!("console sign-in refused: wrong admin token");
        if throttle.failed(ip, now) {
            tracing::warn!(peer = ?ip, "admin token: too many wrong attempts from this address; refusing it for a minute");
        }
        let body = login_form(Some("That is not the admin token."));
        return layout::bare(StatusCode::UNAUTHORIZED, "Sign in", &body);
    }
    let session = c.sessions.open();
    // The audit log ties the session's label to when and where it signed in.
    let op = crate::audit::Operator::at(
        format!("console:{}", session.label),
        peer.map(|axum::Extension(p)| p.0),
    );
    if let Err(e) = op
        .record(
            c.app.engine(),
            "console.sign_in",
            ("session", &session.label),
        )
        .await
    {
        c.sessions.close(&session.id);
        tracing::error!(error = %e, "console sign-in not recorded; refused");
        let body = login_form(Some("Signing in is not possible right now; try again."));
        return layout::bare(StatusCode::SERVICE_UNAVAILABLE, "Sign in", &body);
    }
    tracing::info!("console sign-in");
    let cookie = session_cookie(&c, &session.id, TTL.as_secs());
    ([(header::SET_COOKIE, cookie)], Redirect::to("/console")).into_response()
}

/// `POST /console/logout`.
pub async fn logout(
    State(c): State<Console>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(op): axum::Extension<crate::audit::Operator>,
) -> Response {
    c.sessions.close(&session.id);
    let recorded = op
        .record(
            c.app.engine(),
            "console.sign_out",
            ("session", &session.label),
        )
        .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "console sign-out not recorded");
    }
    let cookie = session_cookie(&c, "", 0);
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

/// The `csrf` field of a form body (hex tokens need no percent-decoding).
fn form_csrf(body: &[u8]) -> Option<&[u8]> {
    body.split(|b| *b == b'&')
        .find_map(|pair| pair.strip_prefix(b"csrf="))
}

fn csrf_matches(expected: &str, presented: Option<&[u8]>) -> bool {
    use subtle::ConstantTimeEq;
    presented.is_some_and(|p| p.len() == expected.len() && bool::from(p.ct_eq(expected.as_bytes())))
}

/// Lets only signed-in requests through (others go to the sign-in page) and refuses any POST
/// whose form does not carry the session's CSRF token. The session is handed to handlers as an
/// extension.
pub async fn require(State(c): State<Console>, req: Request, next: Next) -> Response {
    let session = cookie(req.headers(), COOKIE).and_then(|id| c.sessions.get(&id));
    let Some(session) = session else {
        return Redirect::to("/console/login").into_response();
    };
    let mut req = req;
    if req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return layout::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form is too large.",
            );
        };
        if !csrf_matches(&session.csrf, form_csrf(&bytes)) {
            tracing::warn!(path = %parts.uri.path(), "console form refused: CSRF token missing or wrong");
            return layout::message(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form does not belong to your session. Reload the page and try again.",
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    let op = crate::audit::Operator::of(format!("console:{}", session.label), &req);
    req.extensions_mut().insert(op);
    req.extensions_mut().insert(session);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_find_and_close() {
        let s = Sessions::default();
        let a = s.open();
        assert_eq!(s.get(&a.id).map(|x| x.csrf), Some(a.csrf.clone()));
        assert!(s.get("nope").is_none());
        s.close(&a.id);
        assert!(s.get(&a.id).is_none());
        assert_eq!(format!("{a:?}"), "Session(***)");
    }

    #[test]
    fn a_one_time_form_is_fresh_once_and_free_again_when_refused() {
        let s = Sessions::default();
        let a = s.open();
        assert_eq!(s.claim_form(&a.id, "f1"), FormClaim::Fresh);
        assert_eq!(
            s.claim_form(&a.id, "f1"),
            FormClaim::Repeated(None),
            "running"
        );
        s.finish_form(&a.id, "f1", Some("mch_1".into()));
        assert_eq!(
            s.claim_form(&a.id, "f1"),
            FormClaim::Repeated(Some("mch_1".into()))
        );
        assert_eq!(s.claim_form(&a.id, "f2"), FormClaim::Fresh);
        s.finish_form(&a.id, "f2", None);
        assert_eq!(
            s.claim_form(&a.id, "f2"),
            FormClaim::Fresh,
            "refused: sent again"
        );
        assert_eq!(s.claim_form("nobody", "f3"), FormClaim::Repeated(None));
        for n in 0..MAX_FORMS {
            s.claim_form(&a.id, &format!("g{n}"));
        }
        assert_eq!(s.claim_form(&a.id, "f1"), FormClaim::Fresh, "forgotten");
    }

    #[test]
    fn csrf_is_read_from_the_form_and_compared_whole() {
        let body = b"name=x&csrf=abcd&other=1";
        assert_eq!(form_csrf(body), Some(&b"abcd"[..]));
        assert!(csrf_matches("abcd", form_csrf(body)));
        assert!(!csrf_matches("abcde", form_csrf(body)));
        assert!(!csrf_matches("abcd", form_csrf(b"name=x")));
    }
}
