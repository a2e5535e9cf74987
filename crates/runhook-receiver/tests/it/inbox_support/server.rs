//! A receiver served over real HTTP on 127.0.0.1, and a one-request client.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use runhook_receiver::Receiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A server of one receiver; stops when dropped.
pub(crate) struct Server {
    pub(crate) addr: std::net::SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `receiver` on a free port of 127.0.0.1, every path.
pub(crate) async fn serve(receiver: Receiver) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let receiver = receiver.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let receiver = receiver.clone();
                    async move {
                        let response = receiver.receive_request(request).await;
                        Ok::<_, Infallible>(response.into_http().map(Full::<Bytes>::new))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, task }
}

/// A response: its status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    /// The body's `outcome`.
    pub(crate) fn outcome(&self) -> String {
        let json: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        json["outcome"].as_str().unwrap_or_default().to_owned()
    }
}

/// POSTs `body` as JSON to `server` over a new connection, and reads the whole response.
pub(crate) async fn post(server: &Server, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/tinyfish HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Answer { status, body }
}
