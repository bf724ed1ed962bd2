//! One RTMP(S) publishing session to a platform, driven by `rml_rtmp`'s sans-IO client.
//!
//! The server talks RTMP itself, rather than handing the platform's URL to ffmpeg, for two
//! reasons: the stream key never leaves this process (a process's arguments are readable by
//! every local user), and the session knows exactly whether the platform *accepted* the stream
//! (`NetStream.Publish.Start`), which is what tells a wrong key or URL (fail at once) from a
//! drop after being live (retry).
//!
//! The session is set up in one task (TCP, TLS for `rtmps://`, handshake, `connect`,
//! `createStream`, `publish`); then a reader task answers the platform's pings and notices
//! when it closes, while the owner writes the stream.

use super::flv::{Tag, TagKind};
use kezdesu_core::restream::IngestUrl;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
    StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

/// The chunk size this client sends with: fewer chunk headers than RTMP's 128-byte default,
/// as OBS and ffmpeg do.
const CHUNK_SIZE: u32 = 4096;
const FLASH_VERSION: &str = "FMLE/3.0 (compatible; kezdesu)";

pub type TlsConnector = tokio_rustls::TlsConnector;

/// Why a session ended or never began. The texts are shown to the akim: they name the host,
/// never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The host could not be reached: a wrong host or port, or the platform is down.
    #[error("{0}")]
    Unreachable(String),
    /// The platform refused the connection or the stream: a wrong key or application.
    #[error("{0}")]
    Refused(String),
    /// The connection ended after the stream was accepted.
    #[error("{0}")]
    Dropped(String),
    /// The meeting's stream ended.
    #[error("the broadcast ended")]
    Stopped,
}

/// Trusts the web's roots (Mozilla's, bundled) and the certificates of `extra_ca_file`.
pub fn tls_connector(extra_ca_file: Option<&std::path::Path>) -> anyhow::Result<TlsConnector> {
    use anyhow::Context;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("egress.extra_ca_file: cannot read {}", path.display()))?;
        for certificate in certificates {
            let certificate = certificate
                .with_context(|| format!("egress.extra_ca_file: {} is not PEM", path.display()))?;
            roots.add(certificate).context("egress.extra_ca_file: a certificate is not valid")?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS for rtmps")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A platform that accepted the stream.
pub struct Session {
    writer: WriteHalf<Box<dyn Stream>>,
    client: Arc<Mutex<ClientSession>>,
    /// Bytes the reader wants sent (answers to pings), or why the connection ended.
    control: mpsc::UnboundedReceiver<Result<Vec<u8>, PublishError>>,
    /// Bytes to send before the next media message.
    pending: Vec<u8>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Session {
    /// Connects to `url` and asks to publish `key`, all within `limit`.
    pub async fn publish(
        url: &IngestUrl,
        key: &str,
        tls: &TlsConnector,
        limit: Duration,
    ) -> Result<Session, PublishError> {
        let host = format!("{}:{}", url.host, url.port);
        let attempt = async {
            let stream = connect(url, tls).await?;
            negotiate(stream, url, key).await
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result,
            Err(_) => Err(PublishError::Unreachable(format!(
                "{host} did not accept the stream within {} s",
                limit.as_secs()
            ))),
        }
    }

    /// Sends one tag at `timestamp` (milliseconds since the session's first frame).
    pub async fn send(&mut self, tag: &Tag, timestamp: u32) -> Result<(), PublishError> {
        let message = {
            let mut client = self.client.lock().expect("the RTMP session is never left poisoned");
            let stamp = RtmpTimestamp::new(timestamp);
            let result = match tag.kind {
                TagKind::Video => client.publish_video_data(tag.body.clone(), stamp, false),
                TagKind::Audio => client.publish_audio_data(tag.body.clone(), stamp, false),
                TagKind::Script => match metadata(tag) {
                    Some(metadata) => client.publish_metadata(&metadata),
                    // Metadata the library cannot carry is only informative: leave it out.
                    None => return Ok(()),
                },
            };
            match result {
                Ok(ClientSessionResult::OutboundResponse(packet)) => packet.bytes,
                Ok(_) => return Ok(()),
                Err(error) => return Err(PublishError::Dropped(format!("the RTMP session failed: {error}"))),
            }
        };
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.write(&pending).await?;
        }
        self.write(&message).await
    }

    /// Ends the stream as a publisher should (`deleteStream`), then closes the connection, so
    /// that the platform finishes the recording rather than waiting for a dropped one.
    pub async fn finish(mut self) {
        let goodbye = {
            let mut client = self.client.lock().expect("the RTMP session is never left poisoned");
            let mut out = Vec::new();
            if let Ok(results) = client.stop_publishing() {
                collect(results, &mut out, &mut Vec::new());
            }
            out
        };
        let closing = async {
            let _ = self.writer.write_all(&goodbye).await;
            let _ = self.writer.shutdown().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.writer
            .write_all(bytes)
            .await
            .map_err(|error| PublishError::Dropped(format!("the connection to the platform broke: {error}")))
    }

    /// Waits until the platform closes the connection, and says why. Cancel-safe: what the
    /// reader asks to send is kept and sent with the next tag.
    pub async fn closed(&mut self) -> PublishError {
        loop {
            match self.control.recv().await {
                Some(Ok(bytes)) => self.pending.extend_from_slice(&bytes),
                Some(Err(error)) => return error,
                None => return PublishError::Dropped("the platform closed the connection".to_owned()),
            }
        }
    }
}

/// TCP (and TLS for `rtmps://`) to the ingest host.
async fn connect(url: &IngestUrl, connector: &TlsConnector) -> Result<Box<dyn Stream>, PublishError> {
    let host = format!("{}:{}", url.host, url.port);
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|error| PublishError::Unreachable(format!("cannot connect to {host}: {error}")))?;
    let _ = tcp.set_nodelay(true);
    if !url.secure {
        return Ok(Box::new(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|_| PublishError::Unreachable(format!("{} is not a valid TLS server name", url.host)))?;
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|error| PublishError::Unreachable(format!("TLS with {host} failed: {error}")))?;
    Ok(Box::new(stream))
}

/// The handshake, `connect` to the application and `publish` of the key; then the reader task.
async fn negotiate(mut stream: Box<dyn Stream>, url: &IngestUrl, key: &str) -> Result<Session, PublishError> {
    let host = format!("{}:{}", url.host, url.port);
    let refused = |why: String| PublishError::Refused(format!("{host} {why}"));
    let mut handshake = Handshake::new(PeerType::Client);
    let first = handshake
        .generate_outbound_p0_and_p1()
        .map_err(|error| refused(format!("handshake failed: {error:?}")))?;
    stream.write_all(&first).await.map_err(|error| refused(format!("closed the connection: {error}")))?;
    let mut buffer = vec![0u8; 16 * 1024];
    let mut read = async |stream: &mut Box<dyn Stream>| -> Result<Vec<u8>, PublishError> {
        match stream.read(&mut buffer).await {
            Ok(0) => Err(refused(
                "closed the connection before accepting the stream (is the stream key or application right?)"
                    .to_owned(),
            )),
            Ok(count) => Ok(buffer[..count].to_vec()),
            Err(error) => Err(refused(format!("closed the connection: {error}"))),
        }
    };
    let remaining = loop {
        let bytes = read(&mut stream).await?;
        match handshake
            .process_bytes(&bytes)
            .map_err(|error| refused(format!("handshake failed: {error:?}")))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream
                    .write_all(&response_bytes)
                    .await
                    .map_err(|error| refused(format!("closed the connection: {error}")))?;
            }
            HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                stream
                    .write_all(&response_bytes)
                    .await
                    .map_err(|error| refused(format!("closed the connection: {error}")))?;
                break remaining_bytes;
            }
        }
    };
    let mut config = ClientSessionConfig::new();
    config.flash_version = FLASH_VERSION.to_owned();
    config.chunk_size = CHUNK_SIZE;
    config.tc_url = Some(url.url.clone());
    let (mut client, initial) =
        ClientSession::new(config).map_err(|error| refused(format!("session failed: {error}")))?;
    let mut out = Vec::new();
    let mut events = Vec::new();
    collect(initial, &mut out, &mut events);
    let connection = client
        .request_connection(url.app.clone())
        .map_err(|error| refused(format!("connect failed: {error}")))?;
    collect(vec![connection], &mut out, &mut events);
    let mut input = remaining;
    loop {
        if !input.is_empty() {
            let results =
                client.handle_input(&input).map_err(|error| refused(format!("sent bad RTMP: {error}")))?;
            collect(results, &mut out, &mut events);
        }
        for event in events.drain(..) {
            match event {
                ClientSessionEvent::ConnectionRequestAccepted => {
                    let publishing = client
                        .request_publishing(key.to_owned(), PublishRequestType::Live)
                        .map_err(|error| refused(format!("publish failed: {error}")))?;
                    collect(vec![publishing], &mut out, &mut Vec::new());
                }
                ClientSessionEvent::ConnectionRequestRejected { description } => {
                    // The application's name is not repeated: a key pasted into the URL would be.
                    return Err(refused(format!(
                        "refused the connection to the application in the URL: {description}"
                    )));
                }
                ClientSessionEvent::PublishRequestAccepted => {
                    stream
                        .write_all(&out)
                        .await
                        .map_err(|error| refused(format!("closed the connection: {error}")))?;
                    return Ok(start_reader(stream, client));
                }
                ClientSessionEvent::UnhandleableOnStatusCode { code } => {
                    return Err(refused(format!("refused the stream ({code}): is the stream key right?")));
                }
                _ => {}
            }
        }
        if !out.is_empty() {
            stream
                .write_all(&out)
                .await
                .map_err(|error| refused(format!("closed the connection: {error}")))?;
            out.clear();
        }
        input = read(&mut stream).await?;
    }
}

fn collect(results: Vec<ClientSessionResult>, out: &mut Vec<u8>, events: &mut Vec<ClientSessionEvent>) {
    for result in results {
        match result {
            ClientSessionResult::OutboundResponse(packet) => out.extend_from_slice(&packet.bytes),
            ClientSessionResult::RaisedEvent(event) => events.push(event),
            ClientSessionResult::UnhandleableMessageReceived(_) => {}
        }
    }
}

/// Splits the stream: a task reads what the platform sends (acknowledgements, pings, a final
/// error) and hands answers and the end to the session.
fn start_reader(stream: Box<dyn Stream>, client: ClientSession) -> Session {
    let (reader, writer) = tokio::io::split(stream);
    let client = Arc::new(Mutex::new(client));
    let (control, receiver) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_platform(reader, client.clone(), control));
    Session { writer, client, control: receiver, pending: Vec::new(), reader }
}

async fn read_platform(
    mut reader: ReadHalf<Box<dyn Stream>>,
    client: Arc<Mutex<ClientSession>>,
    control: mpsc::UnboundedSender<Result<Vec<u8>, PublishError>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let count = match reader.read(&mut buffer).await {
            Ok(0) => {
                let _ =
                    control.send(Err(PublishError::Dropped("the platform closed the connection".to_owned())));
                return;
            }
            Ok(count) => count,
            Err(error) => {
                let _ = control.send(Err(PublishError::Dropped(format!(
                    "the connection to the platform broke: {error}"
                ))));
                return;
            }
        };
        let results =
            client.lock().expect("the RTMP session is never left poisoned").handle_input(&buffer[..count]);
        match results {
            Ok(results) => {
                let mut out = Vec::new();
                let mut events = Vec::new();
                collect(results, &mut out, &mut events);
                // Informational statuses go by; an error status ends the stream.
                if let Some(code) = events.iter().find_map(|event| match event {
                    ClientSessionEvent::UnhandleableOnStatusCode { code } if is_error_status(code) => {
                        Some(code.clone())
                    }
                    _ => None,
                }) {
                    let _ = control
                        .send(Err(PublishError::Dropped(format!("the platform ended the stream ({code})"))));
                    return;
                }
                if !out.is_empty() && control.send(Ok(out)).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ =
                    control.send(Err(PublishError::Dropped(format!("the platform sent bad RTMP: {error}"))));
                return;
            }
        }
    }
}

/// Whether an `onStatus` code says the stream failed (`NetStream.Publish.BadName`,
/// `NetStream.Failed`…), rather than informs.
fn is_error_status(code: &str) -> bool {
    ["Error", "Failed", "BadName", "Denied", "Rejected"].iter().any(|word| code.contains(word))
}

/// ffmpeg's `onMetaData` as the library's metadata (width, height, codecs, rates).
fn metadata(tag: &Tag) -> Option<StreamMetadata> {
    use rml_rtmp::rml_amf0::{Amf0Value, deserialize};
    let mut values = deserialize(&mut std::io::Cursor::new(&tag.body[..])).ok()?;
    if values.len() < 2 {
        return None;
    }
    let properties = match values.remove(1) {
        Amf0Value::Object(properties) => properties,
        _ => return None,
    };
    let mut metadata = StreamMetadata::new();
    metadata.apply_metadata_values(properties);
    Some(metadata)
}
