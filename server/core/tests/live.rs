//! The live channel's rules, with plain values: no IO, no clock.

use jiff::{SignedDuration, Timestamp};
use kezdesu_core::live::*;
use kezdesu_core::platforms::{CommentSource, SocialPlatform};
use kezdesu_core::{AccountId, CommentId, MeetingId, Phase, Principal, QuestionId, Role, ViewerId};
use proptest::prelude::*;

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).expect("valid")
}

fn viewer(id: i64) -> Actor {
    Actor {
        principal: Principal::Viewer { viewer: ViewerId(id), meeting: MeetingId(1) },
        name: format!("viewer {id}"),
    }
}

fn staff(role: Role) -> Actor {
    Actor { principal: Principal::Staff { account: AccountId(100), role }, name: "staff".into() }
}

fn live(seconds: i64) -> Moment {
    Moment { now: t(seconds), phase: Phase::Qa }
}

/// A channel and the log it wrote, driven the way a room drives it.
struct Channel {
    settings: LiveSettings,
    state: LiveState,
    log: Vec<StoredEvent>,
}

impl Channel {
    fn new() -> Channel {
        Channel { settings: LiveSettings::default(), state: LiveState::default(), log: Vec::new() }
    }

    fn send(&mut self, actor: &Actor, command: LiveCommand, moment: Moment) -> Result<Decision, LiveError> {
        let decision = self.state.decide(&self.settings, actor, command, moment)?;
        Ok(self.apply(decision, moment))
    }

    /// Stores and evolves what a decision appends, as a room does after its commit.
    fn apply(&mut self, decision: Decision, moment: Moment) -> Decision {
        if let Decision::Append(events) = &decision {
            for event in events {
                let stored =
                    StoredEvent { seq: self.state.last_seq + 1, at: moment.now, event: event.clone() };
                self.state.evolve(&stored);
                self.log.push(stored);
            }
        }
        decision
    }

    fn comment(&mut self, id: i64, client_id: &str, text: &str, seconds: i64) -> Result<Decision, LiveError> {
        self.send(
            &viewer(id),
            LiveCommand::Comment { client_id: client_id.into(), text: text.into() },
            live(seconds),
        )
    }

    fn moderate(&mut self, command: LiveCommand) -> Result<Decision, LiveError> {
        self.send(&staff(Role::Moderator), command, live(1000))
    }

    /// Enters a comment read from a platform, as a room does with a poller's batch.
    fn platform(&mut self, incoming: IncomingPlatformComment, moment: Moment) -> Result<Decision, LiveError> {
        let decision = self.state.decide_platform_comment(&self.settings, incoming, moment)?;
        Ok(self.apply(decision, moment))
    }
}

fn from_platform(
    platform: SocialPlatform,
    external_id: &str,
    author: i64,
    text: &str,
) -> IncomingPlatformComment {
    IncomingPlatformComment {
        author: ViewerId(author),
        author_name: format!("author {author}"),
        source: CommentSource {
            platform,
            external_id: external_id.into(),
            url: Some(format!("https://example.org/{external_id}")),
            author_id: Some(format!("P{author}")),
        },
        text: text.into(),
    }
}

#[test]
fn a_platform_comment_enters_once_by_its_platform_id() {
    let mut channel = Channel::new();
    let first = from_platform(SocialPlatform::Youtube, "LCC.1", 7, "Когда починят мост?");
    assert!(matches!(channel.platform(first.clone(), live(0)), Ok(Decision::Append(_))));
    assert_eq!(
        channel.platform(first, live(5)),
        Ok(Decision::AlreadyPosted { comment: CommentId(1), seq: 1 })
    );
    // The same id on another platform is another comment.
    let other = from_platform(SocialPlatform::Vk, "LCC.1", 8, "И у нас");
    assert!(matches!(channel.platform(other, live(6)), Ok(Decision::Append(_))));
    assert_eq!(channel.state.comments.len(), 2);
    let comment = &channel.state.comments[&CommentId(1)];
    assert_eq!(comment.source.as_ref().map(|s| s.platform), Some(SocialPlatform::Youtube));
    // Slow mode is the platform's business: a second comment right away is taken.
    channel.moderate(LiveCommand::SlowMode { seconds: 60 }).expect("slow mode");
    let again = from_platform(SocialPlatform::Youtube, "LCC.2", 7, "Ещё вопрос");
    assert!(matches!(channel.platform(again, live(7)), Ok(Decision::Append(_))));
    // Not while the meeting is not live.
    let late = from_platform(SocialPlatform::Youtube, "LCC.3", 7, "Поздно");
    assert_eq!(channel.platform(late, Moment { now: t(8), phase: Phase::Ended }), Err(LiveError::NotLive));
}

#[test]
fn platform_text_is_cleaned_like_typed_text_and_long_text_is_cut() {
    let mut channel = Channel::new();
    channel.settings.max_comment_chars = 30;
    let messy = "\u{202E}Жол&amp;<b>көпір</b>\u{200B} 🚌\u{FEFF}";
    channel.platform(from_platform(SocialPlatform::Telegram, "-100:1", 1, messy), live(0)).expect("taken");
    // Entities and markup stay literal text; invisible and direction marks go.
    assert_eq!(channel.state.comments[&CommentId(1)].text, "Жол&amp;<b>көпір</b> 🚌");
    let long = "а".repeat(50);
    channel.platform(from_platform(SocialPlatform::Telegram, "-100:2", 1, &long), live(1)).expect("taken");
    let cut = &channel.state.comments[&CommentId(2)].text;
    assert_eq!(cut.chars().count(), 30);
    assert!(cut.ends_with('…'));
    assert_eq!(
        channel.platform(from_platform(SocialPlatform::Telegram, "-100:3", 1, " \u{200B} "), live(2)),
        Err(LiveError::Text(kezdesu_core::text::TextError::Empty))
    );
    let mut odd = from_platform(SocialPlatform::Vk, "a b", 1, "text");
    assert_eq!(channel.platform(odd.clone(), live(3)), Err(LiveError::InvalidSource));
    odd.source.external_id = "-1_5".into();
    odd.source.url = Some("javascript:alert(1)".into());
    channel.platform(odd, live(3)).expect("taken");
    assert_eq!(channel.state.comments[&CommentId(3)].source.as_ref().and_then(|s| s.url.clone()), None);
}

#[test]
fn platform_authors_are_held_banned_and_timed_out_like_viewers() {
    let mut channel = Channel::new();
    channel.moderate(LiveCommand::HoldFirstComments { on: true }).expect("hold");
    channel.platform(from_platform(SocialPlatform::Vk, "-1_1", 9, "Первый"), live(0)).expect("taken");
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Held);
    channel.moderate(LiveCommand::TimeOut { viewer: ViewerId(9), minutes: 5 }).expect("time-out");
    assert!(matches!(
        channel.platform(from_platform(SocialPlatform::Vk, "-1_2", 9, "Снова"), live(1000)),
        Err(LiveError::TimedOut { .. })
    ));
    channel.moderate(LiveCommand::Ban { viewer: ViewerId(9) }).expect("ban");
    assert_eq!(
        channel.platform(from_platform(SocialPlatform::Vk, "-1_3", 9, "Снова"), live(5000)),
        Err(LiveError::Banned)
    );
}

#[test]
fn moderation_of_platform_comments_is_sent_back_and_only_staff_see_author_ids() {
    let mut channel = Channel::new();
    channel.platform(from_platform(SocialPlatform::Youtube, "LCC.9", 4, "Вопрос"), live(0)).expect("taken");
    let posted = &channel.log[0].event;
    assert_eq!(posted.audience(), Audience::StaffAnd(ViewerId(4)));
    let public = serde_json::to_value(posted.public_form()).expect("serializes");
    assert_eq!(public["source"]["platform"], "youtube");
    assert_eq!(public["source"]["external_id"], "LCC.9");
    assert!(public["source"].get("author_id").is_none(), "{public}");
    assert_eq!(serde_json::to_value(posted).expect("serializes")["source"]["author_id"], "P4");

    channel.moderate(LiveCommand::Hide { comment: CommentId(1), reason: "spam".into() }).expect("hide");
    let hidden = &channel.log.last().expect("logged").event;
    assert_eq!(
        channel.state.sent_back(hidden),
        Some((SocialPlatform::Youtube, SentBack::Remove { external_id: "LCC.9".into() }))
    );
    channel.moderate(LiveCommand::TimeOut { viewer: ViewerId(4), minutes: 10 }).expect("time-out");
    let timed_out = &channel.log.last().expect("logged").event;
    assert_eq!(
        channel.state.sent_back(timed_out),
        Some((SocialPlatform::Youtube, SentBack::Ban { author_id: "P4".into(), minutes: Some(10) }))
    );
    // A typed comment's moderation asks nothing of any platform.
    channel.comment(1, "a", "Сәлем", 10).expect("typed");
    channel.moderate(LiveCommand::Hide { comment: CommentId(2), reason: "spam".into() }).expect("hide");
    assert_eq!(channel.state.sent_back(&channel.log.last().expect("logged").event), None);
    let counts = channel.state.platform_counts();
    assert_eq!(
        counts[&SocialPlatform::Youtube],
        PlatformCounts { comments: 1, held: 0, hidden: 1, promoted: 0 }
    );
    assert_eq!(counts.len(), 1);
}

#[test]
fn a_retried_comment_is_acknowledged_once() {
    let mut channel = Channel::new();
    assert!(matches!(channel.comment(1, "a", "Жол қашан жөнделеді?", 0), Ok(Decision::Append(_))));
    assert_eq!(
        channel.comment(1, "a", "Жол қашан жөнделеді?", 1),
        Ok(Decision::AlreadyPosted { comment: CommentId(1), seq: 1 })
    );
    assert_eq!(channel.state.comments.len(), 1);
    // Another viewer may use the same client id.
    assert!(matches!(channel.comment(2, "a", "И у нас", 2), Ok(Decision::Append(_))));
}

#[test]
fn comments_are_taken_only_while_live_and_from_viewers() {
    let mut channel = Channel::new();
    let command = LiveCommand::Comment { client_id: "a".into(), text: "hi".into() };
    let before = Moment { now: t(0), phase: Phase::Scheduled };
    assert_eq!(channel.send(&viewer(1), command.clone(), before), Err(LiveError::NotLive));
    assert_eq!(channel.send(&staff(Role::Moderator), command, live(0)), Err(LiveError::ViewersOnly));
    assert_eq!(channel.comment(1, "b", " \u{7} ", 0).map_err(|e| e.code()), Err("text_empty"));
    assert_eq!(channel.comment(1, "c", &"я".repeat(1001), 0).map_err(|e| e.code()), Err("text_too_long"));
}

#[test]
fn viewers_and_akims_cannot_moderate() {
    let mut channel = Channel::new();
    channel.comment(1, "a", "text", 0).expect("posted");
    let hide = LiveCommand::Hide { comment: CommentId(1), reason: "spam".into() };
    assert_eq!(channel.send(&viewer(2), hide.clone(), live(1)), Err(LiveError::Forbidden));
    assert_eq!(channel.send(&staff(Role::Akim), hide.clone(), live(1)), Err(LiveError::Forbidden));
    assert_eq!(channel.send(&staff(Role::Commission), hide.clone(), live(1)), Err(LiveError::Forbidden));
    assert!(channel.send(&staff(Role::Admin), hide, live(1)).is_ok());
}

#[test]
fn hiding_needs_a_listed_reason_and_is_logged() {
    let mut channel = Channel::new();
    channel.comment(1, "a", "buy now", 0).expect("posted");
    let bad = channel.moderate(LiveCommand::Hide { comment: CommentId(1), reason: "boring".into() });
    assert_eq!(bad.map_err(|e| e.code()), Err("invalid_reason"));
    channel.moderate(LiveCommand::Hide { comment: CommentId(1), reason: "spam".into() }).expect("hidden");
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Hidden { reason: "spam".into() });
    channel.moderate(LiveCommand::Restore { comment: CommentId(1) }).expect("restored");
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Visible);
    let actions: Vec<_> = channel.state.moderation_log.iter().map(|e| (e.action, e.reason.clone())).collect();
    assert_eq!(
        actions,
        vec![(ModerationAction::Hide, Some("spam".into())), (ModerationAction::Restore, None)]
    );
}

#[test]
fn first_comments_are_held_until_released() {
    let mut channel = Channel::new();
    channel.moderate(LiveCommand::HoldFirstComments { on: true }).expect("set");
    channel.comment(1, "a", "first", 0).expect("posted");
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Held);
    let held = channel.log.last().expect("event");
    assert_eq!(held.event.audience(), Audience::StaffAnd(ViewerId(1)));
    assert_eq!(held.event.public_form(), LiveEvent::Redacted);
    channel.comment(1, "b", "second", 100).expect("posted");
    assert_eq!(channel.state.comments[&CommentId(2)].state, CommentState::Held, "still untrusted");
    channel.moderate(LiveCommand::Release { comment: CommentId(1) }).expect("released");
    channel.comment(1, "c", "third", 200).expect("posted");
    assert_eq!(channel.state.comments[&CommentId(3)].state, CommentState::Visible);
}

#[test]
fn timeouts_bans_and_slow_mode_refuse_with_a_retry_time() {
    let mut channel = Channel::new();
    channel.comment(1, "a", "one", 0).expect("posted");
    channel.moderate(LiveCommand::TimeOut { viewer: ViewerId(1), minutes: 5 }).expect("timed out");
    let refused = channel.comment(1, "b", "two", 1060).expect_err("timed out");
    assert_eq!(refused.code(), "timed_out");
    assert_eq!(refused.retry_after(), Some(SignedDuration::from_secs(240)));
    channel.comment(1, "c", "three", 1300).expect("the time-out is over");

    channel.moderate(LiveCommand::SlowMode { seconds: 30 }).expect("slow");
    assert_eq!(
        channel.comment(1, "d", "four", 1310).map_err(|e| e.retry_after()),
        Err(Some(SignedDuration::from_secs(20)))
    );
    channel.comment(1, "e", "five", 1330).expect("waited");

    channel.moderate(LiveCommand::Ban { viewer: ViewerId(1) }).expect("banned");
    assert_eq!(channel.comment(1, "f", "six", 9999).map_err(|e| e.code()), Err("banned"));
    channel
        .moderate(LiveCommand::Promote { comments: vec![CommentId(1)], text: None, into: None })
        .expect("promoted");
    let vote = channel.send(&viewer(1), LiveCommand::Vote { question: QuestionId(1), up: true }, live(9999));
    assert_eq!(vote.map_err(|e| e.code()), Err("banned"), "a banned viewer does not vote either");
    let odd = channel.comment(2, "a\u{202e}b", "text", 9999);
    assert_eq!(odd.map_err(|e| e.code()), Err("invalid_client_id"));
    let limited = LiveError::RateLimited { retry_after: SignedDuration::from_secs(3) };
    assert_eq!((limited.code(), limited.retry_after()), ("rate_limited", Some(SignedDuration::from_secs(3))));
    assert_eq!(
        channel.moderate(LiveCommand::Ban { viewer: ViewerId(9) }).map_err(|e| e.code()),
        Err("unknown_author")
    );
}

#[test]
fn questions_keep_their_sources_and_votes_through_a_merge() {
    let mut channel = Channel::new();
    for (viewer, text) in
        [(1, "Когда починят дорогу?"), (2, "Дорога на Коянды разбита"), (3, "Нужен детский сад")]
    {
        channel.comment(viewer, "a", text, 0).expect("posted");
    }
    let promote = LiveCommand::Promote {
        comments: vec![CommentId(1), CommentId(2)],
        text: Some("Ремонт дороги".into()),
        into: None,
    };
    channel.moderate(promote).expect("promoted");
    channel
        .moderate(LiveCommand::Promote { comments: vec![CommentId(3)], text: None, into: None })
        .expect("promoted");
    assert_eq!(channel.state.questions[&QuestionId(2)].text, "Нужен детский сад");
    assert_eq!(
        channel.state.comments[&CommentId(1)].state,
        CommentState::Promoted { question: QuestionId(1) }
    );
    let again =
        channel.moderate(LiveCommand::Promote { comments: vec![CommentId(1)], text: None, into: None });
    assert_eq!(again.map_err(|e| e.code()), Err("already_promoted"));
    channel.moderate(LiveCommand::HoldFirstComments { on: true }).expect("set");
    channel.comment(9, "a", "held text", 5).expect("posted");
    let held =
        channel.moderate(LiveCommand::Promote { comments: vec![CommentId(4)], text: None, into: None });
    assert_eq!(held.map_err(|e| e.code()), Err("comment_held"), "promoting would publish it");
    channel.moderate(LiveCommand::HoldFirstComments { on: false }).expect("set");

    for voter in [4, 5] {
        channel
            .send(&viewer(voter), LiveCommand::Vote { question: QuestionId(2), up: true }, live(10))
            .expect("voted");
    }
    channel
        .send(&viewer(5), LiveCommand::Vote { question: QuestionId(1), up: true }, live(10))
        .expect("voted");
    channel
        .send(&viewer(6), LiveCommand::Vote { question: QuestionId(1), up: true }, live(10))
        .expect("voted");
    channel
        .send(&viewer(6), LiveCommand::Vote { question: QuestionId(1), up: false }, live(11))
        .expect("toggled");
    assert_eq!(
        channel.send(&viewer(6), LiveCommand::Vote { question: QuestionId(1), up: false }, live(12)),
        Ok(Decision::Append(vec![]))
    );
    assert_eq!(channel.state.queue(), vec![QuestionId(2), QuestionId(1)], "by votes");

    channel.moderate(LiveCommand::Merge { question: QuestionId(1), into: QuestionId(2) }).expect("merged");
    let merged = &channel.state.questions[&QuestionId(2)];
    assert_eq!(merged.sources, vec![CommentId(3), CommentId(1), CommentId(2)]);
    assert_eq!(merged.voters.len(), 2, "viewer 5 voted for both and counts once");
    assert_eq!(channel.state.questions[&QuestionId(1)].state, QuestionState::Merged { into: QuestionId(2) });
    let closed = channel.send(&viewer(7), LiveCommand::Vote { question: QuestionId(1), up: true }, live(20));
    assert_eq!(closed.map_err(|e| e.code()), Err("question_closed"));
}

#[test]
fn a_cluster_of_comments_joins_a_question_already_in_the_queue() {
    let mut channel = Channel::new();
    for (viewer, text) in [(1, "Дорога разбита"), (2, "Когда починят дорогу?"), (3, "Дорогу починят?")]
    {
        channel.comment(viewer, "a", text, 0).expect("posted");
    }
    channel
        .moderate(LiveCommand::Promote { comments: vec![CommentId(1)], text: None, into: None })
        .expect("promoted");
    channel
        .send(&viewer(9), LiveCommand::Vote { question: QuestionId(1), up: true }, live(1))
        .expect("voted");
    let joined = LiveCommand::Promote {
        comments: vec![CommentId(2), CommentId(3)],
        text: None,
        into: Some(QuestionId(1)),
    };
    channel.moderate(joined).expect("joined");
    let target = &channel.state.questions[&QuestionId(1)];
    assert_eq!(target.sources, vec![CommentId(1), CommentId(2), CommentId(3)], "every source lands on it");
    assert_eq!(target.voters.len(), 1, "its votes stay");
    assert_eq!(channel.state.questions[&QuestionId(2)].state, QuestionState::Merged { into: QuestionId(1) });
    assert_eq!(
        channel.state.comments[&CommentId(3)].state,
        CommentState::Promoted { question: QuestionId(1) }
    );
    let closed = LiveCommand::Promote { comments: vec![], text: None, into: Some(QuestionId(2)) };
    assert_eq!(channel.moderate(closed).map_err(|e| e.code()), Err("invalid_sources"));
    channel.comment(4, "a", "ещё", 2).expect("posted");
    let closed = LiveCommand::Promote { comments: vec![CommentId(4)], text: None, into: Some(QuestionId(2)) };
    assert_eq!(channel.moderate(closed).map_err(|e| e.code()), Err("question_closed"));
}

#[test]
fn a_snapshot_shows_each_view_what_its_events_would_have() {
    let mut channel = Channel::new();
    for (viewer, text) in [(1, "раз"), (2, "два"), (3, "три"), (4, "четыре")] {
        channel.comment(viewer, "a", text, 0).expect("posted");
    }
    channel
        .moderate(LiveCommand::Promote { comments: vec![CommentId(1)], text: None, into: None })
        .expect("promoted");
    channel.moderate(LiveCommand::Hide { comment: CommentId(2), reason: "spam".into() }).expect("hidden");
    channel.moderate(LiveCommand::Ban { viewer: ViewerId(2) }).expect("banned");
    channel.moderate(LiveCommand::HoldFirstComments { on: true }).expect("set");
    channel.comment(5, "a", "новичок", 1).expect("posted");
    channel
        .send(&viewer(3), LiveCommand::Vote { question: QuestionId(1), up: true }, live(2))
        .expect("voted");

    let ids = |snapshot: &Snapshot| snapshot.comments.iter().map(|c| c.comment.0).collect::<Vec<_>>();
    let public = channel.state.snapshot(SnapshotView::Public, 10);
    assert_eq!(public.seq, channel.state.last_seq);
    assert_eq!(ids(&public), [1, 3, 4], "no held or hidden comment");
    assert!(public.authors.is_empty());
    let latest_two = channel.state.snapshot(SnapshotView::Public, 2);
    assert_eq!(ids(&latest_two), [3, 4]);

    let staff = channel.state.snapshot(SnapshotView::Staff, 2);
    assert_eq!(ids(&staff), [4, 5], "the latest in any state");
    assert_eq!(staff.authors.iter().map(|a| (a.viewer.0, a.banned)).collect::<Vec<_>>(), [(2, true)]);
    let staff_one = channel.state.snapshot(SnapshotView::Staff, 1);
    assert_eq!(ids(&staff_one), [5]);
    channel.comment(6, "b", "ещё один", 3).expect("posted");
    channel.moderate(LiveCommand::HoldFirstComments { on: false }).expect("set");
    channel.comment(7, "b", "последний", 4).expect("posted");
    let staff_one = channel.state.snapshot(SnapshotView::Staff, 1);
    assert_eq!(ids(&staff_one), [5, 6, 7], "every held comment, however old");

    let hidden_author =
        channel.state.snapshot(SnapshotView::Public, 10).with_own_part(channel.state.own_part(ViewerId(2)));
    assert_eq!(ids(&hidden_author), [1, 2, 3, 4, 7], "the author sees their own hidden comment");
    let voter =
        channel.state.snapshot(SnapshotView::Public, 10).with_own_part(channel.state.own_part(ViewerId(3)));
    assert_eq!(voter.my_votes, Some(vec![QuestionId(1)]));
}

/// The `comment_posted` a decision appends.
fn posted(decision: Decision) -> LiveEvent {
    match decision {
        Decision::Append(mut events) => events.remove(0),
        other => panic!("not posted: {other:?}"),
    }
}

#[test]
fn an_automatic_rule_holds_an_obfuscated_term_with_a_public_reason_and_a_moderator_undoes_it() {
    let mut channel = Channel::new();
    let event = posted(channel.comment(1, "a", "Лучшее К.А.З.И.Н.О в городе", 0).expect("taken"));
    let LiveEvent::CommentPosted { held, flagged, .. } = &event else { panic!("{event:?}") };
    let verdict = flagged.clone().expect("a rule acted");
    assert_eq!(
        (verdict.rule.as_str(), verdict.action, verdict.reason.as_str()),
        ("blocked_terms", AutoAction::Hold, "blocked_term")
    );
    assert!(held, "seen only by moderators and its author");
    assert_eq!(event.audience(), Audience::StaffAnd(ViewerId(1)));
    assert_eq!(event.public_form(), LiveEvent::Redacted);
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Held);
    let entry = channel.state.moderation_log.last().expect("logged");
    assert_eq!(
        (entry.rule.as_deref(), entry.moderator.as_ref(), entry.action),
        (Some("blocked_terms"), None, ModerationAction::Hold)
    );

    channel.moderate(LiveCommand::Release { comment: CommentId(1) }).expect("released");
    assert_eq!(channel.state.comments[&CommentId(1)].state, CommentState::Visible);
    assert!(
        channel.state.moderation_log.last().expect("logged").moderator.is_some(),
        "the undo is the moderator's"
    );

    let link = posted(channel.comment(2, "a", "Подробности тут: bit.ly/abc", 1).expect("taken"));
    assert!(
        matches!(link, LiveEvent::CommentPosted { flagged: Some(AutoVerdict { ref reason, .. }), .. } if reason == "link")
    );
    let allowed = posted(channel.comment(3, "a", "Смотрите www.gov.kz/memleket", 2).expect("taken"));
    assert!(matches!(allowed, LiveEvent::CommentPosted { flagged: None, held: false, .. }));
}

#[test]
fn a_flood_is_hidden_by_its_rule_and_restored_by_a_moderator() {
    let mut channel = Channel::new();
    for second in [0, 5] {
        channel.comment(1, &format!("f{second}"), "Почините дорогу на Абая!!!", second).expect("taken");
    }
    let third = posted(channel.comment(1, "f10", "Почините дорогу на Абая!!", 10).expect("taken"));
    assert!(matches!(
        third,
        LiveEvent::CommentPosted { flagged: Some(AutoVerdict { action: AutoAction::Hide, .. }), .. }
    ));
    assert_eq!(channel.state.comments[&CommentId(3)].state, CommentState::Hidden { reason: "flood".into() });
    channel.moderate(LiveCommand::Restore { comment: CommentId(3) }).expect("restored");
    assert_eq!(channel.state.comments[&CommentId(3)].state, CommentState::Visible);
    // Outside the window, the same text is an ordinary comment again.
    let later = posted(channel.comment(1, "f200", "Почините дорогу на Абая!!!", 200).expect("taken"));
    assert!(matches!(later, LiveEvent::CommentPosted { flagged: None, .. }));
}

#[test]
fn near_duplicates_join_one_cluster_and_a_question_gathers_the_later_ones() {
    let mut channel = Channel::new();
    let first =
        posted(channel.comment(1, "a", "Когда отремонтируют дорогу на улице Абая?", 0).expect("taken"));
    assert!(matches!(first, LiveEvent::CommentPosted { similar_to: None, likely_question: true, .. }));
    channel.comment(2, "a", "Нужен детский сад в микрорайоне", 1).expect("taken");
    for (viewer, text) in
        [(3, "когда отремонтируют дорогу на улице Абая"), (4, "Когда отремонтируют дорогу на ул. Абая???")]
    {
        let event = posted(channel.comment(viewer, "a", text, 2).expect("taken"));
        assert!(
            matches!(
                event,
                LiveEvent::CommentPosted { similar_to: Some(SimilarKey::Comment(CommentId(1))), .. }
            ),
            "{text}: {event:?}"
        );
    }
    channel
        .moderate(LiveCommand::Promote { comments: vec![CommentId(1), CommentId(3)], text: None, into: None })
        .expect("promoted");
    let later =
        posted(channel.comment(5, "a", "Когда отремонтируют дорогу на улице Абая?!", 3).expect("taken"));
    assert!(
        matches!(
            later,
            LiveEvent::CommentPosted { similar_to: Some(SimilarKey::Question(QuestionId(1))), .. }
        ),
        "{later:?}"
    );
    let thanks = posted(channel.comment(6, "a", "Рахмет, жол жөнделді", 4).expect("taken"));
    assert!(matches!(thanks, LiveEvent::CommentPosted { similar_to: None, likely_question: false, .. }));
    let kazakh = posted(channel.comment(7, "a", "Жол қашан жөнделеді", 5).expect("taken"));
    assert!(matches!(kazakh, LiveEvent::CommentPosted { likely_question: true, .. }));
    channel
        .moderate(LiveCommand::Dismiss { question: QuestionId(1), reason: "done".into() })
        .expect("dismissed");
    let after =
        posted(channel.comment(8, "a", "Когда отремонтируют дорогу на улице Абая", 6).expect("taken"));
    assert!(
        matches!(
            after,
            LiveEvent::CommentPosted {
                similar_to: Some(SimilarKey::Comment(CommentId(4) | CommentId(5))),
                ..
            }
        ),
        "a closed question gathers nothing: {after:?}"
    );
}

#[test]
fn one_question_is_on_air_and_pins_lead_the_queue() {
    let mut channel = Channel::new();
    for id in 1..=3 {
        channel.comment(id, "a", "q", 0).expect("posted");
        channel
            .moderate(LiveCommand::Promote { comments: vec![CommentId(id)], text: None, into: None })
            .expect("promoted");
    }
    channel.moderate(LiveCommand::Pin { question: QuestionId(3), position: Some(0) }).expect("pinned");
    assert_eq!(channel.state.queue(), vec![QuestionId(3), QuestionId(1), QuestionId(2)]);
    channel.moderate(LiveCommand::PutOnAir { question: QuestionId(1) }).expect("on air");
    channel.moderate(LiveCommand::PutOnAir { question: QuestionId(2) }).expect("on air");
    assert_eq!(channel.state.on_air, Some(QuestionId(2)));
    assert_eq!(channel.state.questions[&QuestionId(1)].state, QuestionState::Queued, "back in the queue");
    channel
        .moderate(LiveCommand::Answer { question: QuestionId(2), summary: "Ремонт в мае".into() })
        .expect("answered");
    assert_eq!(channel.state.on_air, None);
    channel
        .moderate(LiveCommand::Dismiss {
            question: QuestionId(1), reason: "Не по теме встречи".into()
        })
        .expect("dismissed");
    assert_eq!(channel.state.queue(), vec![QuestionId(3)]);
}

fn command() -> impl Strategy<Value = (i64, LiveCommand)> {
    let comment = (1i64..6).prop_map(CommentId);
    let question = (1i64..4).prop_map(QuestionId);
    prop_oneof![
        4 => (1i64..5, 0u8..4, "[a-zа-я ]{0,12}").prop_map(|(v, c, text)| (v, LiveCommand::Comment { client_id: c.to_string(), text })),
        2 => (1i64..5, question.clone(), any::<bool>()).prop_map(|(v, question, up)| (v, LiveCommand::Vote { question, up })),
        1 => (comment.clone(), prop_oneof![Just("spam"), Just("bad")]).prop_map(|(comment, r)| (0, LiveCommand::Hide { comment, reason: r.into() })),
        1 => comment.clone().prop_map(|comment| (0, LiveCommand::Restore { comment })),
        1 => comment.clone().prop_map(|comment| (0, LiveCommand::Release { comment })),
        1 => any::<bool>().prop_map(|on| (0, LiveCommand::HoldFirstComments { on })),
        1 => (1i64..5, 1u32..3).prop_map(|(v, minutes)| (0, LiveCommand::TimeOut { viewer: ViewerId(v), minutes })),
        2 => prop::collection::vec(comment.clone(), 1..3).prop_map(|comments| (0, LiveCommand::Promote { comments, text: None, into: None })),
        1 => (question.clone(), question.clone()).prop_map(|(question, into)| (0, LiveCommand::Merge { question, into })),
        1 => (question.clone(), prop::option::of(0u32..3)).prop_map(|(question, position)| (0, LiveCommand::Pin { question, position })),
        1 => question.clone().prop_map(|question| (0, LiveCommand::PutOnAir { question })),
        1 => question.clone().prop_map(|question| (0, LiveCommand::Answer { question, summary: "done".into() })),
    ]
}

/// The state rebuilt from `log`, through JSON as the store keeps it; `in_bulk` as a room loads
/// it, with the near-duplicate index built once the log is read.
fn replay(log: &[StoredEvent], in_bulk: bool) -> LiveState {
    let mut state = LiveState::default();
    if in_bulk {
        state.defer_indexing();
    }
    for stored in log {
        let json = serde_json::to_string(stored).expect("serializes");
        state.evolve(&serde_json::from_str(&json).expect("parses"));
    }
    state.index_deferred();
    state
}

/// Whether both states suggest the same near-duplicate for every comment's text, ties
/// included (an index built in another order could break them otherwise).
fn same_suggestions(one: &LiveState, other: &LiveState) -> bool {
    one.comments.values().all(|comment| {
        let text = kezdesu_core::moderation::normalize(&comment.text);
        one.similar.best_match(&text, 300) == other.similar.best_match(&text, 300)
    })
}

#[test]
fn a_long_log_loaded_in_bulk_indexes_what_one_replayed_event_by_event_does() {
    let mut channel = Channel::new();
    // Past the index's bound, so that the oldest comments are dropped while loading, with
    // near-duplicates among them and a question that keeps its sources indexed.
    let topics = ["дорога на улице", "свет во дворе", "вода в доме", "автобус номер", "школа рядом"];
    for i in 0..(MAX_INDEXED_COMMENTS as i64 + 300) {
        let text = format!("{} {}", topics[(i % 5) as usize], i % 97);
        channel.comment(1 + i % 50, &format!("c{i}"), &text, i / 10).expect("posted");
        if i == 10 {
            let promote = LiveCommand::Promote {
                comments: vec![CommentId(3)],
                text: Some("дорога".into()),
                into: None,
            };
            channel.send(&staff(Role::Moderator), promote, live(1)).expect("promoted");
        }
    }
    let loaded = replay(&channel.log, true);
    assert_eq!(loaded, channel.state);
    assert!(same_suggestions(&loaded, &channel.state));
    assert!(loaded.similar.best_match(&kezdesu_core::moderation::normalize("дорога"), 300).is_some());
}

/// A platform comment: one of a few ids (so some repeat), from one of a few authors that are
/// also the typed comments' viewers (so bans and holds meet them).
fn platform_comment() -> impl Strategy<Value = IncomingPlatformComment> {
    (
        prop_oneof![Just(SocialPlatform::Youtube), Just(SocialPlatform::Telegram)],
        0u8..5,
        1i64..5,
        "[a-zа-я ]{0,12}",
    )
        .prop_map(|(platform, id, author, text)| from_platform(platform, &format!("m{id}"), author, &text))
}

proptest! {
    /// Whatever the commands, the log is gap-free, and replaying it rebuilds the same state.
    #[test]
    fn replaying_the_log_rebuilds_the_state(
        commands in prop::collection::vec((prop::option::weighted(0.8, command()), platform_comment(), 0i64..120), 0..60),
    ) {
        let mut channel = Channel::new();
        let mut seconds = 0;
        for (command, incoming, step) in commands {
            seconds += step;
            match command {
                Some((actor, command)) => {
                    let actor = if actor == 0 { staff(Role::Moderator) } else { viewer(actor) };
                    let _ = channel.send(&actor, command, live(seconds));
                }
                None => {
                    let _ = channel.platform(incoming, live(seconds));
                }
            }
        }
        // A platform comment entered once per (platform, id).
        let mut seen = std::collections::HashSet::new();
        for comment in channel.state.comments.values() {
            if let Some(source) = &comment.source {
                prop_assert!(seen.insert((source.platform, source.external_id.clone())));
            }
        }
        for (index, stored) in channel.log.iter().enumerate() {
            prop_assert_eq!(stored.seq, index as u64 + 1);
        }
        let replayed = replay(&channel.log, false);
        prop_assert_eq!(&replayed, &channel.state);
        // Loaded in bulk, with the near-duplicate index built at the end, as a room loads it.
        let loaded = replay(&channel.log, true);
        prop_assert_eq!(&loaded, &channel.state);
        prop_assert!(same_suggestions(&loaded, &channel.state));
        // One question at most is on air, and it is not in the queue.
        let on_air: Vec<_> = channel.state.questions.values().filter(|q| q.state == QuestionState::OnAir).collect();
        prop_assert!(on_air.len() <= 1);
        if let Some(question) = channel.state.on_air {
            prop_assert!(!channel.state.queue().contains(&question));
        }
    }
}
