//! Reading structured inputs out of the fuzzer's bytes, as text a person can write a seed in.

/// An HTTP request written as text, the format of the `receive` seeds: `METHOD URI` on the first
/// line, then `Name: value` header lines, an empty line, and the body (the rest, as is). Lines
/// end with `\n` or `\r\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest<'a> {
    /// The method, as written.
    pub(crate) method: &'a [u8],
    /// The request target, as written.
    pub(crate) uri: &'a [u8],
    /// The headers, name and value (leading blanks of the value dropped).
    pub(crate) headers: Vec<(&'a [u8], &'a [u8])>,
    /// The body.
    pub(crate) body: &'a [u8],
}

impl<'a> RawRequest<'a> {
    /// Reads `data`; any bytes give a request (missing parts are empty).
    pub(crate) fn parse(data: &'a [u8]) -> Self {
        let (first, mut rest) = split_line(data);
        let (method, uri) = split_once(first, b' ');
        let mut headers = Vec::new();
        while !rest.is_empty() {
            let (line, after) = split_line(rest);
            rest = after;
            if line.is_empty() {
                break;
            }
            let (name, value) = split_once(line, b':');
            headers.push((name, value.trim_ascii_start()));
        }
        RawRequest {
            method,
            uri,
            headers,
            body: rest,
        }
    }
}

/// The first line of `data` (without its `\n` or `\r\n`) and the rest.
pub(crate) fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &data[data.len()..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

/// `data` before and after the first `separator` (all of it and nothing if there is none).
fn split_once(data: &[u8], separator: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == separator) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[data.len()..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_read_line_by_line() {
        let request = RawRequest::parse(
            b"POST /h?token=t\r\ncontent-type:  application/json\nx: y\n\n{\"a\":\n1}",
        );
        assert_eq!(request.method, b"POST");
        assert_eq!(request.uri, b"/h?token=t");
        assert_eq!(
            request.headers,
            vec![
                (&b"content-type"[..], &b"application/json"[..]),
                (b"x", b"y")
            ]
        );
        assert_eq!(request.body, b"{\"a\":\n1}");
        let empty = RawRequest::parse(b"");
        assert_eq!(
            (empty.method, empty.uri, empty.body),
            (&b""[..], &b""[..], &b""[..])
        );
    }
}
