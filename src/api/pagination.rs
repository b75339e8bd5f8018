//! Limit/offset pagination with DRF's body and link rules.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;

use super::AppState;
use super::extract::QueryPairs;
use crate::error::ApiError;
use crate::store::Page;

/// The absolute URL of the current request, without its query string.
#[derive(Debug, Clone)]
pub struct RequestUrl {
    pub base: String,
    pub path: String,
}

impl RequestUrl {
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl FromRequestParts<AppState> for RequestUrl {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let base = match &state.config.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let host = parts
                    .headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
                    .map(str::to_string)
                    .unwrap_or_else(|| state.config.listen_addr.clone());
                let scheme = if state.config.tls { "https" } else { "http" };
                format!("{scheme}://{host}")
            }
        };
        Ok(RequestUrl {
            base,
            path: parts.uri.path().to_string(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct PageBody<T: Serialize> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// Reads `limit`/`offset` as DRF's LimitOffsetPagination does: a missing, non-positive or
/// malformed limit is the default, a larger one is capped, a bad offset is 0.
pub fn page_of(q: &QueryPairs, default_limit: i64, max_limit: i64) -> Page {
    let limit = q
        .get("limit")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l.min(max_limit))
        .unwrap_or(default_limit);
    let offset = q
        .get("offset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|o| *o >= 0)
        .unwrap_or(0);
    Page { limit, offset }
}

/// Builds the page body; links keep every other query parameter, sorted by name as DRF does.
pub fn page_body<T: Serialize>(
    url: &RequestUrl,
    q: &QueryPairs,
    page: Page,
    count: i64,
    results: Vec<T>,
) -> PageBody<T> {
    let link = |offset: Option<i64>| {
        let mut pairs: Vec<(String, String)> =
            q.0.iter()
                .filter(|(k, _)| k != "limit" && k != "offset")
                .cloned()
                .collect();
        pairs.push(("limit".into(), page.limit.to_string()));
        if let Some(o) = offset {
            pairs.push(("offset".into(), o.to_string()));
        }
        // Stable sort by key only, as Python's sorted() over parse_qs items keeps value order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{}{}?{}", url.base, url.path, query)
    };
    let next = (page.offset + page.limit < count).then(|| link(Some(page.offset + page.limit)));
    let previous = if page.offset <= 0 {
        None
    } else if page.offset - page.limit <= 0 {
        Some(link(None))
    } else {
        Some(link(Some(page.offset - page.limit)))
    };
    PageBody {
        count,
        next,
        previous,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_match_the_seed_example() {
        let url = RequestUrl {
            base: "https://control.zequenze.com".into(),
            path: "/api/v1/inventory_device/".into(),
        };
        let q = QueryPairs(vec![
            ("organization".into(), "123".into()),
            ("status".into(), "true".into()),
            ("limit".into(), "25".into()),
        ]);
        let page = page_of(&q, 100, 1000);
        let body = page_body(&url, &q, page, 245, Vec::<u8>::new());
        assert_eq!(
            body.next.as_deref(),
            Some(
                "https://control.zequenze.com/api/v1/inventory_device/?limit=25&offset=25&organization=123&status=true"
            )
        );
        assert_eq!(body.previous, None);
        let q2 = QueryPairs(vec![
            ("offset".into(), "30".into()),
            ("limit".into(), "25".into()),
        ]);
        let body = page_body(&url, &q2, page_of(&q2, 100, 1000), 245, Vec::<u8>::new());
        assert_eq!(
            body.previous.as_deref(),
            Some("https://control.zequenze.com/api/v1/inventory_device/?limit=25&offset=5")
        );
        let q3 = QueryPairs(vec![
            ("offset".into(), "20".into()),
            ("limit".into(), "25".into()),
        ]);
        let body = page_body(&url, &q3, page_of(&q3, 100, 1000), 45, Vec::<u8>::new());
        assert_eq!(
            body.previous.as_deref(),
            Some("https://control.zequenze.com/api/v1/inventory_device/?limit=25")
        );
        assert_eq!(body.next, None);
    }

    #[test]
    fn limits_are_capped_and_defaulted() {
        let q = QueryPairs(vec![
            ("limit".into(), "5000".into()),
            ("offset".into(), "-3".into()),
        ]);
        let p = page_of(&q, 100, 1000);
        assert_eq!((p.limit, p.offset), (1000, 0));
        let q = QueryPairs(vec![("limit".into(), "abc".into())]);
        assert_eq!(page_of(&q, 100, 1000).limit, 100);
    }
}
