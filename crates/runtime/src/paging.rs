//! Page size and page token of list calls.
//!
//! A page token is the offset of the next row, written as `o<offset>`. It is opaque to clients;
//! the form is only checked so that a damaged token gets a clear error.

use tonic::Status;

/// Page size when the request leaves it at 0.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page size a request may ask for.
pub const MAX_PAGE_SIZE: u64 = 500;

/// One page of a list: how many rows to skip and how many to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

impl Page {
    /// Reads `page_size` and `page_token` from a list request.
    pub fn from_request(page_size: i32, page_token: &str) -> Result<Self, Status> {
        let limit = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            size if size < 0 => {
                return Err(crate::status::invalid_argument(
                    "page_size",
                    format!("{size} is negative: expected 0 (default) to {MAX_PAGE_SIZE}"),
                ));
            }
            size => (size as u64).min(MAX_PAGE_SIZE),
        };
        let offset = if page_token.is_empty() {
            0
        } else {
            page_token
                .strip_prefix('o')
                .and_then(|offset| offset.parse::<u64>().ok())
                .ok_or_else(|| {
                    crate::status::invalid_argument(
                        "page_token",
                        format!("{page_token:?} is not a token this service issued: pass next_page_token unchanged"),
                    )
                })?
        };
        Ok(Self { offset, limit })
    }

    /// Asks the database for one row more than the page, to know whether a next page exists.
    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts the extra row and returns the token of the next page, empty on the last page.
    pub fn finish<T>(&self, rows: &mut Vec<T>) -> String {
        if rows.len() as u64 > self.limit {
            rows.truncate(self.limit as usize);
            format!("o{}", self.offset + self.limit)
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_caps() {
        assert_eq!(
            Page::from_request(0, "").unwrap(),
            Page {
                offset: 0,
                limit: 50
            }
        );
        assert_eq!(Page::from_request(10_000, "").unwrap().limit, 500);
        assert_eq!(
            Page::from_request(5, "o10").unwrap(),
            Page {
                offset: 10,
                limit: 5
            }
        );
    }

    #[test]
    fn page_rejects_bad_input() {
        assert_eq!(
            Page::from_request(-1, "").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            Page::from_request(5, "abc").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn page_token_points_past_page() {
        let page = Page::from_request(2, "o4").unwrap();
        let mut rows = vec![1, 2, 3];
        assert_eq!(page.finish(&mut rows), "o6");
        assert_eq!(rows, vec![1, 2]);
        let mut last = vec![1];
        assert_eq!(page.finish(&mut last), "");
    }
}
