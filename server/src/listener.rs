//! The TCP listener, wrapped to count open connections for `/metrics`.

use crate::http::ClientAddress;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use prometheus_client::metrics::gauge::Gauge;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections move a gauge up when accepted and down when closed.
pub struct CountingListener {
    inner: TcpListener,
    open: Gauge,
    /// `server.socket_send_buffer_bytes`; 0 leaves the kernel's default.
    send_buffer_bytes: usize,
}

impl CountingListener {
    pub fn new(inner: TcpListener, open: Gauge, send_buffer_bytes: usize) -> CountingListener {
        CountingListener { inner, open, send_buffer_bytes }
    }
}

impl Listener for CountingListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CountedStream, SocketAddr) {
        // axum's own accept retries on errors such as running out of file descriptors.
        let (stream, address) = Listener::accept(&mut self.inner).await;
        if self.send_buffer_bytes > 0
            && let Err(error) = socket2::SockRef::from(&stream).set_send_buffer_size(self.send_buffer_bytes)
        {
            tracing::warn!(%error, "could not set the socket's send buffer");
        }
        self.open.inc();
        (CountedStream { stream, open: self.open.clone() }, address)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, CountingListener>> for ClientAddress {
    fn connect_info(stream: IncomingStream<'_, CountingListener>) -> ClientAddress {
        ClientAddress(*stream.remote_addr())
    }
}

/// A connection that counts itself out of the gauge when dropped.
pub struct CountedStream {
    stream: TcpStream,
    open: Gauge,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
