//! A reader: reads one platform's comments for one meeting through its client, and hands each
//! batch, with the cursor after it, to the meeting's room, until it is stopped or cannot go on.

use super::connector::{Connector, FetchError, PlatformComment};
use super::status::labels;
use super::{FeedKey, Shared, clients};
use crate::room::platform::BatchRefusal;
use crate::store::LiveFeed;
use crate::store::NewPlatformAuthor;
use crate::wire::PlatformState;
use jiff::Timestamp;
use kezdesu_core::MeetingId;
use kezdesu_core::live::IncomingPlatformComment;
use kezdesu_core::platforms::{CommentSource, MAX_AUTHOR_NAME_CHARS, SocialPlatform};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What is followed has not started (or has ended): look again after this long at least.
const GONE_PAUSE: Duration = Duration::from_secs(5);
/// A read still open after this long is a long poll the platform holds for us.
const HELD_OPEN: Duration = Duration::from_secs(2);

/// How a reader ended.
pub(super) enum Exit {
    /// Cancelled, or it cannot go on with what it has (no credential, refused credential).
    Done,
    /// Another node writes the meeting now: forget this reader, so that the reconciler looks
    /// again if this node writes it later.
    NotOwner,
}

/// Reads one feed until stopped, or until it cannot go on.
pub(super) async fn run_reader(
    shared: &Arc<Shared>,
    key: FeedKey,
    live: LiveFeed,
    stop: CancellationToken,
) -> Exit {
    let (meeting, platform) = key;
    let credential = match shared.open_credential(&live) {
        Ok(credential) => credential,
        Err(reason) => {
            shared.set_state(key, PlatformState::Stopped, Some(reason), None);
            return Exit::Done;
        }
    };
    shared.set_state(key, PlatformState::Connecting, None, None);
    let connector: Arc<dyn Connector> =
        match clients::connect(shared.http.clone(), &shared.settings, credential, live.feed.follow.clone()) {
            Ok(connector) => Arc::from(connector),
            Err(error) => {
                shared.set_state(key, PlatformState::Stopped, Some(error.to_string()), None);
                return Exit::Done;
            }
        };
    shared
        .connectors
        .lock()
        .expect("the connector map is never left poisoned")
        .insert(key, connector.clone());
    tracing::info!(%meeting, %platform, "platform reader started");
    let first_pause = Duration::from_millis(shared.config.first_retry_pause_ms);
    let longest_pause = Duration::from_millis(shared.config.longest_retry_pause_ms);
    let mut pause = first_pause;
    let mut cursor = live.feed.cursor.clone();
    let mut authors: HashMap<String, kezdesu_core::ViewerId> = HashMap::new();
    loop {
        let fetched = {
            let fetch = connector.fetch(cursor.as_deref());
            tokio::pin!(fetch);
            tokio::select! {
                _ = stop.cancelled() => return Exit::Done,
                fetched = &mut fetch => fetched,
                // A long poll the platform holds open has accepted the credential (a refusal comes
                // back at once): the reader is live, though nobody has commented yet.
                _ = tokio::time::sleep(HELD_OPEN) => {
                    shared.update(key, false, |status| {
                        if status.state == PlatformState::Connecting {
                            status.state = PlatformState::Live;
                        }
                    });
                    tokio::select! {
                        _ = stop.cancelled() => return Exit::Done,
                        fetched = &mut fetch => fetched,
                    }
                }
            }
        };
        let wait = match fetched {
            Ok(fetched) => {
                shared.spend_quota(key, fetched.quota_units);
                let advanced = fetched.cursor.is_some() && fetched.cursor != cursor;
                if !fetched.comments.is_empty() || advanced {
                    let incoming =
                        match incoming_of(shared, meeting, platform, fetched.comments, &mut authors).await {
                            Ok(incoming) => incoming,
                            Err(error) => {
                                shared.update(key, false, |status| {
                                    status.state = PlatformState::Failing;
                                    status.last_error =
                                        Some(format!("could not store the comments' authors: {error}"));
                                });
                                sleep_or_stop(&stop, pause).await;
                                pause = (pause * 2).min(longest_pause);
                                continue;
                            }
                        };
                    match shared
                        .rooms
                        .platform_batch(meeting, platform, incoming, fetched.cursor.clone())
                        .await
                    {
                        Ok(outcome) => {
                            let label = labels(platform);
                            shared.metrics.comments.get_or_create(&label).inc_by(outcome.taken.len() as u64);
                            shared.metrics.duplicates.get_or_create(&label).inc_by(outcome.duplicates as u64);
                            shared.metrics.refused.get_or_create(&label).inc_by(outcome.refused.len() as u64);
                            shared.update(key, false, |status| {
                                status.comments += outcome.taken.len() as u64;
                                status.refused += outcome.refused.len() as u64;
                            });
                            if fetched.cursor.is_some() {
                                cursor = fetched.cursor;
                            }
                        }
                        Err(BatchRefusal::NotOwner) => {
                            tracing::info!(%meeting, %platform, "another node writes the meeting: its reader stops here");
                            return Exit::NotOwner;
                        }
                        Err(BatchRefusal::Unavailable) => {
                            shared.update(key, false, |status| {
                                status.state = PlatformState::Failing;
                                status.last_error =
                                    Some("the comments could not be stored; read again".to_owned());
                            });
                            sleep_or_stop(&stop, pause).await;
                            pause = (pause * 2).min(longest_pause);
                            continue;
                        }
                    }
                }
                pause = first_pause;
                shared.update(key, false, |status| {
                    status.state = PlatformState::Live;
                    status.reason = None;
                    status.until = None;
                    if fetched.resolved.is_some() {
                        status.resolved = fetched.resolved.clone();
                    }
                });
                fetched.wait
            }
            Err(FetchError::BackOff { reason, retry_after, quota_units }) => {
                shared.spend_quota(key, quota_units);
                shared.failed_read(platform, "backing_off");
                let wait = retry_after.unwrap_or(pause).max(first_pause);
                pause = (pause * 2).min(longest_pause);
                let until = Timestamp::now() + wait;
                shared.set_state(key, PlatformState::BackingOff, Some(reason), Some(until));
                wait
            }
            Err(FetchError::Unauthorized { reason }) => {
                shared.failed_read(platform, "unauthorized");
                tracing::warn!(%meeting, %platform, "the platform refused the akim's credential: the reader stops");
                shared.update(key, true, |status| {
                    status.state = PlatformState::Unauthorized;
                    status.reason = Some(reason.clone());
                    status.until = None;
                    status.last_error = Some(reason);
                });
                return Exit::Done;
            }
            Err(FetchError::Gone { reason }) => {
                shared.failed_read(platform, "gone");
                let wait = pause.max(GONE_PAUSE);
                pause = (pause * 2).min(longest_pause);
                shared.set_state(key, PlatformState::BackingOff, Some(reason), Some(Timestamp::now() + wait));
                wait
            }
            Err(error @ (FetchError::Malformed { .. } | FetchError::Transient { .. })) => {
                let outcome =
                    if matches!(error, FetchError::Malformed { .. }) { "malformed" } else { "transient" };
                shared.failed_read(platform, outcome);
                let wait = pause;
                pause = (pause * 2).min(longest_pause);
                let until = Timestamp::now() + wait;
                shared.update(key, false, |status| {
                    status.state = PlatformState::Failing;
                    status.reason = None;
                    status.until = Some(until.to_string());
                    status.last_error = Some(error.to_string());
                });
                wait
            }
        };
        if !sleep_or_stop(&stop, wait).await {
            return Exit::Done;
        }
    }
}

/// Sleeps `wait`; false when stopped meanwhile.
async fn sleep_or_stop(stop: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// The batch as the room takes it: each author resolved to the viewer standing for them.
async fn incoming_of(
    shared: &Shared,
    meeting: MeetingId,
    platform: SocialPlatform,
    comments: Vec<PlatformComment>,
    authors: &mut HashMap<String, kezdesu_core::ViewerId>,
) -> Result<Vec<IncomingPlatformComment>, crate::store::StoreError> {
    // An author the platform withholds (Facebook without the permission) is one viewer per
    // comment, so that hiding one never silences another.
    let author_key = |comment: &PlatformComment| {
        if comment.author_id.is_empty() {
            format!("comment:{}", comment.external_id)
        } else {
            comment.author_id.clone()
        }
    };
    let mut new_authors: Vec<NewPlatformAuthor> = Vec::new();
    for comment in &comments {
        let key = author_key(comment);
        if !authors.contains_key(&key) && !new_authors.iter().any(|author| author.platform_user_id == key) {
            new_authors.push(NewPlatformAuthor {
                platform_user_id: key,
                display_name: comment.author_name.chars().take(MAX_AUTHOR_NAME_CHARS).collect(),
                token_hash: crate::auth::token_hash(&crate::auth::new_token()),
            });
        }
    }
    if !new_authors.is_empty() {
        let viewers =
            shared.store.platform_viewers(meeting, platform, &new_authors, Timestamp::now()).await?;
        for (author, viewer) in new_authors.into_iter().zip(viewers) {
            authors.insert(author.platform_user_id, viewer);
        }
    }
    let mut incoming = Vec::with_capacity(comments.len());
    for comment in comments {
        let Some(author) = authors.get(&author_key(&comment)).copied() else { continue };
        incoming.push(IncomingPlatformComment {
            author,
            author_name: comment.author_name,
            source: CommentSource {
                platform,
                external_id: comment.external_id,
                url: comment.url,
                author_id: (!comment.author_id.is_empty()).then_some(comment.author_id),
            },
            text: comment.text,
        });
    }
    Ok(incoming)
}
