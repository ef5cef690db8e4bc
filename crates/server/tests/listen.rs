//! The listener's connection limits, on tokio's paused clock (time moves only when every task
//! waits, so a 30-second deadline passes at once and nothing sleeps).

use axum::Router;
use axum::routing::get;
use polypay_server::listen::{ConnectionLimits, serve};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: polypay\r\n\r\n";

async fn start(
    limits: ConnectionLimits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = Router::new().route("/", get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop, served)
}

/// Reads one whole (small) response: its head and the 2-byte body.
async fn response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\nok") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "closed before the response: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads until the server closes the connection; what it sent first, if anything.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn limits(header_secs: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(header_secs),
        max_connections,
        shutdown_drain: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(60),
    }
}

#[tokio::test(start_paused = true)]
async fn a_head_sent_too_slowly_and_an_idle_connection_are_closed() {
    let (addr, _stop, _served) = start(limits(30, 16)).await;
    // A slow client: part of a head, then nothing.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nhost: poly")
        .await
        .expect("write");
    let started = Instant::now();
    let sent = timeout(Duration::from_secs(300), until_closed(&mut slow))
        .await
        .expect("a head that never ends still ends the connection");
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(!sent.contains("200 OK"), "{sent}");
    // A keep-alive connection that answered a request and then sits idle.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(REQUEST).await.expect("write");
    assert!(response(&mut idle).await.starts_with("HTTP/1.1 200 OK"));
    let started = Instant::now();
    timeout(Duration::from_secs(300), until_closed(&mut idle))
        .await
        .expect("an idle connection is closed");
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn past_the_cap_a_connection_waits_for_one_to_close() {
    let (addr, _stop, _served) = start(limits(30, 1)).await;
    let mut first = TcpStream::connect(addr).await.expect("connect");
    first.write_all(REQUEST).await.expect("write");
    assert!(response(&mut first).await.starts_with("HTTP/1.1 200 OK"));
    // The kernel completes the handshake, but the node does not take the connection up.
    let mut second = TcpStream::connect(addr).await.expect("connect");
    second.write_all(REQUEST).await.expect("write");
    assert!(
        timeout(Duration::from_secs(10), response(&mut second))
            .await
            .is_err(),
        "served past the cap"
    );
    drop(first);
    let answered = timeout(Duration::from_secs(10), response(&mut second))
        .await
        .expect("served once the first closed");
    assert!(answered.starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_idle_connections_and_stops_accepting() {
    let (addr, stop, served) = start(limits(30, 16)).await;
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(REQUEST).await.expect("write");
    response(&mut idle).await;
    stop.send(()).expect("stop");
    timeout(Duration::from_secs(5), served)
        .await
        .expect("serve returns without waiting for the idle connection's deadline")
        .expect("no panic");
    assert_eq!(until_closed(&mut idle).await, "");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

/// A request that reaches a keep-alive connection just after shutdown began (or sat in its
/// buffer when it did) is answered, with `Connection: close`, not met with a closed
/// connection; past the drain an idle connection closes.
#[tokio::test(start_paused = true)]
async fn shutdown_drains_before_it_closes_idle_connections() {
    let (addr, stop, served) = start(limits(30, 16)).await;
    let mut kept = TcpStream::connect(addr).await.expect("connect");
    kept.write_all(REQUEST).await.expect("write");
    assert!(!response(&mut kept).await.contains("connection: close"));
    let mut quiet = TcpStream::connect(addr).await.expect("connect");
    quiet.write_all(REQUEST).await.expect("write");
    response(&mut quiet).await;
    stop.send(()).expect("stop");
    // On the paused clock this returns once every task is waiting: the node has begun its
    // shutdown (the listener is closed) and its connections know it.
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    kept.write_all(REQUEST).await.expect("write");
    let answered = response(&mut kept).await;
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");
    assert!(answered.contains("connection: close"), "{answered}");
    assert_eq!(until_closed(&mut kept).await, "", "closed after its answer");
    let started = Instant::now();
    assert_eq!(
        until_closed(&mut quiet).await,
        "",
        "closed at the drain's end"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    timeout(Duration::from_secs(5), served)
        .await
        .expect("serve returns once drained")
        .expect("no panic");
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_request_in_flight_finish_within_the_grace() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // `/slow` says it has started, then answers when the test says so.
    let (release, released) = tokio::sync::watch::channel(false);
    let (start, mut started) = tokio::sync::watch::channel(false);
    let router = Router::new().route(
        "/slow",
        get(move || {
            let mut released = released.clone();
            let _ = start.send(true);
            async move {
                let _ = released.wait_for(|r| *r).await;
                "ok"
            }
        }),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, router, limits(30, 16), async move {
        let _ = stopped.await;
    }));
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /slow HTTP/1.1\r\nhost: polypay\r\n\r\n")
        .await
        .expect("write");
    started.wait_for(|s| *s).await.expect("the handler runs");
    stop.send(()).expect("stop");
    let mut served = served;
    assert!(
        timeout(Duration::from_secs(5), &mut served).await.is_err(),
        "returned with a request in flight"
    );
    release.send(true).expect("release");
    let answered = response(&mut slow).await;
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");
    timeout(Duration::from_secs(5), served)
        .await
        .expect("returns once the request is answered")
        .expect("no panic");

    // A request that never ends holds the stop no longer than the grace.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (start, mut started) = tokio::sync::watch::channel(false);
    let router = Router::new().route(
        "/never",
        get(move || {
            let _ = start.send(true);
            std::future::pending::<&'static str>()
        }),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, router, limits(30, 16), async move {
        let _ = stopped.await;
    }));
    let mut stuck = TcpStream::connect(addr).await.expect("connect");
    stuck
        .write_all(b"GET /never HTTP/1.1\r\nhost: polypay\r\n\r\n")
        .await
        .expect("write");
    started.wait_for(|s| *s).await.expect("the handler runs");
    let started = Instant::now();
    stop.send(()).expect("stop");
    timeout(Duration::from_secs(300), served)
        .await
        .expect("returns at the end of the grace")
        .expect("no panic");
    assert!(
        started.elapsed() >= Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
