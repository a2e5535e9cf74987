//! The CSRF token every form carries, and the check of a posted form.

use subtle::ConstantTimeEq;

/// A new random token: two v4 UUIDs (244 random bits), as hex.
pub(crate) fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Whether `given` is `expected`, compared in constant time.
pub(crate) fn matches(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|given| bool::from(expected.as_bytes().ct_eq(given.as_bytes())))
}

/// The fields of a posted form (`application/x-www-form-urlencoded`), whatever its content type
/// says: a form without the expected fields is refused by the handler, not by a parser.
pub(crate) struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// The fields of `body`.
    pub(crate) fn parse(body: &[u8]) -> Self {
        FormFields(
            url::form_urlencoded::parse(body)
                .take(64)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of the field `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        assert!(matches(&token, Some(&token)));
        assert!(!matches(&token, None));
        assert!(!matches(&token, Some("")));
        assert!(!matches(&token, Some(&new_token())));
    }

    #[test]
    fn form_fields_are_decoded() {
        let form = FormFields::parse(b"csrf=a%2Bb&token=x+y&csrf=second");
        assert_eq!(form.get("csrf"), Some("a+b"));
        assert_eq!(form.get("token"), Some("x y"));
        assert_eq!(form.get("missing"), None);
    }
}
