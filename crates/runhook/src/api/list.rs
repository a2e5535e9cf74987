//! A page of `GET /v1/runs`: `{data: [...], pagination: {total, next_cursor, has_more}}`.

use serde::{Deserialize, Serialize};

use super::null::null_as_default;

/// A page of `GET /v1/runs`: the runs of the page, and where the listing goes on. Generic over
/// the item: a [`Run`](crate::Run), or the JSON of one for a reader that reads runs leniently
/// (or a writer that shapes them itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListPage<T> {
    /// The runs of this page (without `steps` and `video_url`, as the API lists them).
    pub data: Vec<T>,
    /// Where the listing goes on. Read as all-unknown when the answer has none (or `null`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pagination: Pagination,
}

impl<T> ListPage<T> {
    /// A page of `data`.
    pub fn new(data: Vec<T>, pagination: Pagination) -> Self {
        ListPage { data, pagination }
    }
}

/// The `pagination` of a [`ListPage`]. A field the answer does not carry (or carries as
/// `null`) reads as `None`; a reader decides what that means.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pagination {
    /// How many runs match the filters, over all pages.
    #[serde(default)]
    pub total: Option<u64>,
    /// The cursor of the next page (`null` on the last page).
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Whether more pages follow.
    #[serde(default)]
    pub has_more: Option<bool>,
}

impl Pagination {
    /// The pagination of a page of `total` matching runs, followed by the page at
    /// `next_cursor` if there is one (then `has_more` is true).
    pub fn new(total: u64, next_cursor: Option<String>) -> Self {
        Pagination {
            total: Some(total),
            has_more: Some(next_cursor.is_some()),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn writes_and_reads_the_documented_shape() {
        let page = ListPage::new(
            vec![json!({"run_id": "r1"})],
            Pagination::new(3, Some("c".into())),
        );
        let value = serde_json::to_value(&page).unwrap();
        assert_eq!(
            value,
            json!({"data": [{"run_id": "r1"}],
                   "pagination": {"total": 3, "next_cursor": "c", "has_more": true}})
        );
        assert_eq!(
            serde_json::from_value::<ListPage<Value>>(value).unwrap(),
            page
        );
        let last = serde_json::to_value(ListPage::<Value>::new(vec![], Pagination::new(0, None)));
        assert_eq!(
            last.unwrap(),
            json!({"data": [], "pagination": {"total": 0, "next_cursor": null, "has_more": false}})
        );
    }

    #[test]
    fn a_missing_or_null_pagination_reads_as_unknown() {
        for body in [json!({"data": []}), json!({"data": [], "pagination": null})] {
            let page: ListPage<Value> = serde_json::from_value(body).unwrap();
            assert_eq!(page.pagination, Pagination::default());
        }
        let page: ListPage<Value> =
            serde_json::from_value(json!({"data": [], "pagination": {"has_more": null}})).unwrap();
        assert_eq!(page.pagination, Pagination::default());
        assert!(serde_json::from_value::<ListPage<Value>>(json!({"pagination": {}})).is_err());
    }
}
