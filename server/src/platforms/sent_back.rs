//! Moderation sent back: what the rooms commit about platform comments and authors (a hidden
//! comment, a timed-out or banned author) is sent to the platform in a task of its own, and the
//! outcome recorded in the reader's status. Nothing here is waited for.

use super::connector::{ActionError, Connector, PlatformAction};
use super::{FeedKey, Shared, clients};
use crate::metrics::PlatformOutcomeLabels;
use crate::room::live::SentBackRequest;
use crate::store::LiveFeed;
use crate::wire::{ActionResult, PlatformActionView};
use jiff::Timestamp;
use kezdesu_core::AccountId;
use kezdesu_core::live::SentBack;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many moderation outcomes a status keeps.
const ACTIONS_KEPT: usize = 50;

pub(super) async fn send_back_forever(
    shared: Arc<Shared>,
    mut requests: mpsc::UnboundedReceiver<SentBackRequest>,
) {
    loop {
        let request = tokio::select! {
            _ = shared.stop.cancelled() => break,
            request = requests.recv() => match request {
                Some(request) => request,
                None => break,
            },
        };
        let key = (request.meeting, request.platform);
        let (action, name) = match &request.action {
            SentBack::Remove { external_id } => {
                (PlatformAction::Remove { external_id: external_id.clone() }, "remove")
            }
            SentBack::Ban { author_id, minutes } => (
                PlatformAction::Ban { author_id: author_id.clone(), minutes: *minutes },
                if minutes.is_some() { "time_out" } else { "ban" },
            ),
        };
        let view = PlatformActionView {
            seq: request.seq,
            comment: request.comment.map(|comment| comment.0),
            viewer: request.viewer.map(|viewer| viewer.0),
            action: name.to_owned(),
            outcome: ActionResult::Pending,
            reason: None,
            at: Timestamp::now().to_string(),
        };
        record_action(&shared, key, view.clone());
        let task_shared = shared.clone();
        shared.tasks.spawn(async move {
            let (outcome, reason, units) = match connector_for(&task_shared, key).await {
                Err(reason) => (ActionResult::Failed, Some(reason), 0),
                Ok(connector) => match connector.act(&action).await {
                    Ok(done) => (ActionResult::Done, None, done.quota_units),
                    Err(ActionError::Unsupported) => (ActionResult::Unsupported, None, 0),
                    Err(ActionError::Refused { reason }) => (ActionResult::Failed, Some(reason), 0),
                },
            };
            let outcome_name = match outcome {
                ActionResult::Done => "done",
                ActionResult::Unsupported => "unsupported",
                _ => "failed",
            };
            task_shared
                .metrics
                .actions
                .get_or_create(&PlatformOutcomeLabels { platform: key.1.as_str(), outcome: outcome_name })
                .inc();
            task_shared.spend_quota(key, units);
            record_action(
                &task_shared,
                key,
                PlatformActionView { outcome, reason, at: Timestamp::now().to_string(), ..view },
            );
        });
    }
}

/// Adds or replaces (by seq and action) an action's outcome in the feed's status.
fn record_action(shared: &Arc<Shared>, key: FeedKey, view: PlatformActionView) {
    shared.update(key, true, |status| {
        match status.actions.iter_mut().find(|known| known.seq == view.seq && known.action == view.action) {
            Some(known) => *known = view,
            None => status.actions.push(view),
        }
        let excess = status.actions.len().saturating_sub(ACTIONS_KEPT);
        status.actions.drain(..excess);
    });
}

/// The running reader's client, or one made from the store for this action alone (the
/// meeting has ended, or its reader stopped).
async fn connector_for(shared: &Shared, key: FeedKey) -> Result<Arc<dyn Connector>, String> {
    if let Some(connector) =
        shared.connectors.lock().expect("the connector map is never left poisoned").get(&key)
    {
        return Ok(connector.clone());
    }
    let (meeting, platform) = key;
    let unavailable = |error: crate::store::StoreError| format!("could not read the feed: {error}");
    let feed = shared
        .store
        .meeting_platforms(meeting)
        .await
        .map_err(unavailable)?
        .into_iter()
        .find(|feed| feed.platform() == platform)
        .ok_or_else(|| "the meeting no longer follows this platform".to_owned())?;
    let akim: AccountId = shared.store.meeting(meeting).await.map_err(unavailable)?.akim;
    let credential = shared
        .store
        .platform_credentials(akim)
        .await
        .map_err(unavailable)?
        .into_iter()
        .find(|credential| credential.platform == platform);
    let credential = shared.open_credential(&LiveFeed { feed: feed.clone(), akim, credential })?;
    let connector = clients::connect(shared.http.clone(), &shared.settings, credential, feed.follow)
        .map_err(|error| error.to_string())?;
    Ok(Arc::from(connector))
}
