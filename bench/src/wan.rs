//! A userspace relay on 127.0.0.1 that makes a loopback server look like
//! one across a wide-area link: every byte is delayed by a fixed one-way
//! latency and each direction is limited to a bandwidth shared by all
//! connections. Benchmarks put it between a client and the server to
//! measure what caching buys where round trips and bytes cost.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A link's shape.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// Bytes per second in each direction.
    pub bytes_per_sec: f64,
}

impl Link {
    /// 20 ms each way, 100 Mbit/s: a good connection to a server across a
    /// country.
    pub fn wan() -> Link {
        Link {
            delay: Duration::from_millis(20),
            bytes_per_sec: 100e6 / 8.0,
        }
    }
}

/// When the link is next free in one direction, shared by its connections.
type Pace = Arc<Mutex<Instant>>;

/// A running relay: connections to [`Relay::addr`] reach the upstream.
pub struct Relay {
    /// Where to connect instead of the upstream.
    pub addr: SocketAddr,
}

impl Relay {
    /// Relays 127.0.0.1:PORT to `upstream` through `link`, in background
    /// threads that live as long as the process.
    pub fn start(upstream: SocketAddr, link: Link) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let up: Pace = Arc::new(Mutex::new(Instant::now()));
        let down: Pace = Arc::new(Mutex::new(Instant::now()));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = conn.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = match (conn.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => continue,
                };
                pipe(conn, server, link, up.clone());
                pipe(s2, c2, link, down.clone());
            }
        });
        Ok(Relay { addr })
    }
}

/// Bytes read from `from` reach `to` after the link's delay and pacing.
fn pipe(mut from: TcpStream, to: TcpStream, link: Link, pace: Pace) {
    let (tx, rx) = channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || deliver(rx, to, link, &pace));
}

fn deliver(rx: Receiver<(Instant, Vec<u8>)>, mut to: TcpStream, link: Link, pace: &Pace) {
    while let Ok((at, bytes)) = rx.recv() {
        // On the wire: the link is busy for len / rate, one sender at a time.
        let done = {
            let mut next = pace.lock().expect("poisoned");
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(bytes.len() as f64 / link.bytes_per_sec);
            *next
        };
        let arrive = (at + link.delay).max(done);
        if let Some(wait) = arrive.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if to.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
